/*
 * adguard_mw reader check. Served under a per-site name and shape; the server fills in the configuration below.
 *
 * Independent signals, each reported on its own; the server turns them into the verdict (signals.py):
 *   cosmetic    - elements with ad-like classes, placed early, measured after load. An element hidden by a rule
 *                 that matches the element itself (its own computed display is "none", or it was removed) means
 *                 a blocker, whether or not the neutral control element was hidden with it: a page never hides
 *                 our elements, it can only hide one of their ancestors (then the control is hidden too, by
 *                 inheritance, and the answer is "unknown").
 *   script      - scripts at ad-like paths must run *their own* content: each echoes a one-time random value
 *                 back through a DOM event. A blocked request or a stand-in script ("surrogate") cannot. A neutral
 *                 control script is loaded the same way: if it fails while a plain fetch() of it, or of this very
 *                 script, succeeds, a blocker singled it out, which is blocking too. Only when the network
 *                 itself fails is the answer "unknown".
 *   image       - an image at an ad-like path must arrive with its own size (2x1); a stand-in pixel is 1x1.
 *   third_party - (optional) the neutral script on another host, which network-level filters may block.
 * Nothing here decides on its own that a report went through, nor clears anything: the server counts page views
 * whose detector stayed silent (silence.py), and only the real beacon's signed answer stops that count.
 * One report per verdict: unchanged verdicts are not re-sent until they are old. Nothing here may throw into
 * the page or delay its rendering.
 *
 * Client-side navigation and the page API live in the message script, which this one loads when the page has none.
 * Consent (config.consentEvent / config.consentCookie): until the site signals consent, nothing at all happens.
 * No beacon (no config.beacon): the verdict is made here with the server's rule and only announced in the page.
 */
(function (config) {
  "use strict";
  var doc = document, win = window, self = doc.currentScript;
  // No currentScript means an old browser (IE); every browser with it and fetch has Promise and CustomEvent.
  // config.gpc is set only where the site chose never to check readers who send Global Privacy Control; the
  // server reads Sec-GPC itself, so a page that only pretends (a scriptlet) is counted as a silent detector.
  if (!self || !win.fetch || config.gpc && navigator.globalPrivacyControl) return;
  var base = self.src.replace(/[^/]*([?#].*)?$/, ""),
    B = "blocked", N = "not_blocked", U = "unknown", F = "failed",
    event = config.event, consent = config.consentEvent, jar = config.consentCookie,
    baits, control, checking, timer, polls = 600, policy;

  // Under Trusted Types (require-trusted-types-for 'script') a script URL must come from a named policy; ours
  // lets through only URLs of our own folder (and the configured third-party bait). Sites list config.tt in
  // their `trusted-types` directive; without Trusted Types, plain strings are used.
  try {
    policy = win.trustedTypes && trustedTypes.createPolicy(config.tt, {
      createScriptURL: function (url) {
        if (url.indexOf(base) && url.indexOf(config.thirdParty)) throw url;
        return url;
      }
    });
  } catch (x) { /* a policy of that name exists or is not allowed: plain strings */ }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // The server's rule (adguard_mw/signals.py, combine) over values that are always B, N or U: any blocked is
  // blocked; all not blocked (and at least one value) is not blocked; anything else is unknown.
  function verdict(values) {
    return values.indexOf(B) >= 0 ? B : values.length && values.indexOf(U) < 0 ? N : U;
  }

  // Probes go into the page at once: blockers hide generic classes only after they see them in the DOM. The
  // control and the baits differ only by class; tag and styling are the site's own (config.tag, config.style).
  function probe(name) {
    var el = doc.createElement(config.tag);
    el.className = name;
    el.setAttribute("aria-hidden", "true");
    el.style.cssText = config.style;
    el.textContent = "\u00a0"; // not :empty, which some sites hide
    return doc.body.appendChild(el);
  }

  // Hidden by a rule aimed at the element itself: removed, or its own display is "none" (an ancestor's
  // display:none leaves the element's own computed display alone).
  function targeted(el) { return !el.isConnected || getComputedStyle(el).display == "none"; }

  // Not rendered at all, for any reason (an ancestor hidden, visibility, no box).
  function unseen(el) {
    return targeted(el) || !el.offsetParent || !el.offsetHeight || getComputedStyle(el).visibility == "hidden";
  }

  function cosmetic() {
    return baits.some(targeted) ? B : unseen(control) ? U : baits.some(unseen) ? B : N;
  }

  function fetched(url) {
    return fetch(url, { cache: "no-store", mode: "no-cors", credentials: "same-origin" });
  }

  // Loads one script (or image) of ours and resolves to N (our own content arrived: the script echoed its
  // one-time value, the image is 2x1), B (something else arrived, or the request failed while a fetch of it
  // gets through), F (the request failed and so did the fetch) or U (too slow, or our server answers an error).
  function load(path, image) {
    return new Promise(function (resolve) {
      var n = Math.random().toString(config.radix).slice(2, 14),
        url = new URL(path, base) + "?" + config.token + "=" + n, // the third-party path is a full URL
        el = doc.createElement(image ? "img" : "script"), settled;
      function done(result) {
        if (settled) return;
        settled = 1;
        doc.removeEventListener(event, echo);
        el.remove();
        resolve(result);
      }
      function echo(e) { if (e.detail === n) done(N); }
      doc.addEventListener(event, echo);
      // For a script, load fires after it ran: a genuine one has echoed by then.
      el.onload = function () { done(image && el.naturalWidth == 2 && el.naturalHeight == 1 ? N : B); };
      el.onerror = function () {
        // Blocked, unless our server is in trouble: fetch() is rarely filtered, and a server error answers.
        fetched(url).then(function (r) { done(r.ok ? B : U); }, function () { done(F); });
      };
      setTimeout(function () { done(U); }, config.timeout);
      el.nonce = self.nonce; // the page's Content-Security-Policy nonce, if any
      try {
        el.src = image || !policy ? url : policy.createScriptURL(url);
      } catch (x) {
        return done(U); // Trusted Types refuse our URL (our policy name is not allowed): no conclusion
      }
      if (!image) doc.head.appendChild(el);
    });
  }

  // The results of the control, the image, the bait scripts and the third-party script, in this order. A
  // request that failed outright counts only while this very script can still be fetched (the network works);
  // null when it cannot: a bad network, not a blocker.
  function requests() {
    var third = config.thirdParty ? [config.thirdParty + config.control] : [],
      paths = [config.control, config.image].concat(config.baits, third);
    return Promise.all(paths.map(function (path, i) { return load(path, i == 1); })).then(function (r) {
      return r.indexOf(F) < 0 ? r : fetched(self.src).then(function (s) { return s.ok && r; }, function () {});
    });
  }

  // A failed request, once the network is known to work, is a blocked one: a bait, or a singled-out control.
  function outcome(r) { return r.map(function (x) { return x == F ? B : x; }); }

  function network() {
    // One retry when the network looked bad, so that a hiccup does not end as "unknown".
    return requests().then(function (r) {
      return !r || verdict(outcome(r)) == U ? wait(300).then(requests) : r;
    }).then(function (r) {
      var signals = { script: U, image: U }, o = r && outcome(r), n = config.baits.length;
      if (o) {
        signals.image = o[1];
        signals.script = verdict([o[0]].concat(o.slice(2, 2 + n)));
        if (config.thirdParty) signals.third_party = o[2 + n];
      }
      return signals;
    });
  }

  // The value of a cookie, followed by the cookies after it; undefined when there is no such cookie.
  function cookie(name) { return ("; " + doc.cookie).split("; " + name + "=")[1]; }

  // The server's summary cookie ("b.<time>"): an unchanged, recent verdict is not reported again.
  function known(v) {
    var m = cookie(config.companion);
    return m && m[0] == v[0] && Date.now() / 1000 - parseInt(m.slice(2)) < config.refresh;
  }

  function report(body, retry) {
    return fetch(base + config.beacon, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) throw r;
      return r.json();
    }).catch(function () {
      return retry ? wait(1000).then(function () { return report(body); }) : {};
    });
  }

  function check(recheck) {
    // Procedural filters act a little after load: measure twice and trust a hide seen either time.
    return Promise.all([network(), wait(config.settle)]).then(function (r) {
      var s = r[0], first = cosmetic();
      return wait(first == B ? 0 : config.settle).then(function () {
        var inBrowser = verdict([s.cosmetic = first == B ? B : cosmetic(), s.script, s.image]),
          v = verdict([inBrowser, s.third_party]); // an absent third_party counts for nothing, as on the server
        // Without a beacon: the kind as the server would name it (signals.py), and nothing leaves the page.
        if (!config.beacon) {
          return { verdict: v, kind: inBrowser == B ? "extension" : s.third_party == B ? "network" : null };
        }
        if (!recheck && known(v)) return { verdict: v };
        return report({ signals: s, path: location.pathname, recheck: !!recheck }, true).then(function (a) {
          return a.verdict ? a : { verdict: v };
        });
      });
    }).then(function (answer) {
      doc.dispatchEvent(new CustomEvent(event, { detail: answer }));
      // Blocked: the site's ad slots get a house message. Its script is fetched only now, once, and the server
      // sends it only to a reader its own cookie says is blocking (config.slots: the site's ad_slots setting).
      if (config.slots && answer.verdict == B) {
        var s = doc.createElement("script"), url = base + config.slots + "?" + config.token + "=" +
          encodeURIComponent(location.pathname);
        config.slots = 0;
        s.nonce = self.nonce;
        s.src = policy ? policy.createScriptURL(url) : url;
        doc.head.appendChild(s);
      }
    });
  }

  function run(recheck) {
    if (checking) return;
    checking = true;
    check(recheck).catch(function () {}).then(function () { checking = false; });
  }

  // Consent given before this script ran: the cookie exists, or <html> carries data-<consent event>.
  function granted() {
    return jar ? cookie(jar) != null :
      !consent || doc.documentElement.hasAttribute("data-" + consent);
  }

  // Runs the check once consent is there (an event passed in is the consent event itself).
  function start(e) {
    try {
      if (!--polls) clearInterval(timer);
      if (baits || !(e || granted())) return;
      clearInterval(timer);
      baits = config.classes.map(probe);
      control = probe(config.neutral);
      doc.addEventListener(event, function (e) { if (e.detail === "run") run(true); });
      // Client-side navigation and the page API live in the message script: loaded when the page has none.
      var d = {}, s = doc.createElement("script"), url = base + config.ui;
      doc.dispatchEvent(new CustomEvent(event, { detail: d }));
      if (!d.api) {
        s.nonce = self.nonce;
        s.src = policy ? policy.createScriptURL(url) : url;
        doc.head.appendChild(s);
      }
      if (doc.readyState == "complete") run();
      else win.addEventListener("load", function () { run(); });
    } catch (x) { /* never into the page */ }
  }

  start();
  if (consent) doc.addEventListener(consent, start);
  // Consent tools set their cookie when the reader answers: look once a second, for ten minutes at most.
  else if (!baits) timer = setInterval(start, 1000);
})(__CONFIG__);
