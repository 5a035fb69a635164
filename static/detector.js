/*
 * adguard_mw reader check. Served under a neutral per-site name; the server fills in the configuration below.
 *
 * Independent signals, each reported on its own, so that no single failure accuses an innocent reader:
 *   cosmetic    - elements with ad-like classes, placed early, measured after load: hidden means a blocker;
 *                 a neutral control element styled the same way must stay visible, or the answer is "unknown".
 *   script      - scripts at ad-like paths must run *their own* content: each echoes a one-time random value
 *                 back through a DOM event. A blocked request or a stand-in script ("surrogate") cannot.
 *   image       - an image at an ad-like path must arrive with its own size (2x1); a stand-in pixel is 1x1.
 *   third_party - (optional) the neutral script on another host, which network-level filters may block.
 * A neutral control script on our own host is loaded the same way: if it fails, the network is at fault and
 * the request-based signals are "unknown", never "blocked". The server turns signals into the verdict.
 * One report per verdict: unchanged verdicts are not re-sent until they are old. Nothing here may throw into
 * the page or delay its rendering.
 *
 * Consent (config.consentEvent / config.consentCookie): until the site signals consent, nothing at all happens:
 * no element placed, no request, no cookie read (except, in cookie mode, looking for that one cookie).
 * No beacon (no config.beacon): the verdict is made here with the server's rule and only announced in the page.
 */
(function (config) {
  "use strict";
  var doc = document, win = window, self = doc.currentScript;
  // No currentScript means an old browser (IE); every browser with it and fetch has Promise and CustomEvent.
  // With Global Privacy Control the reader asked not to be tracked: no check.
  if (!self || !win.fetch || config.gpc && navigator.globalPrivacyControl) return;
  var base = self.src.replace(/[^/]*([?#].*)?$/, ""),
    B = "blocked", N = "not_blocked", U = "unknown",
    event = config.event, consent = config.consentEvent, jar = config.consentCookie,
    baits, control, checking, timer, polls = 600;

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // The server's rule (adguard_mw/signals.py, combine) over values that are always B, N or U: any blocked is
  // blocked; all not blocked (and at least one value) is not blocked; anything else is unknown.
  function verdict(values) {
    return values.indexOf(B) >= 0 ? B : values.length && values.indexOf(U) < 0 ? N : U;
  }

  // Bait elements go into the page at once: blockers hide generic classes only after they see them in the DOM.
  function bait(name) {
    var el = doc.createElement("div");
    el.className = name;
    el.setAttribute("aria-hidden", "true");
    el.style.cssText = "position:absolute;left:-9999px;top:-999px;width:9px;height:9px;display:block";
    return doc.body.appendChild(el);
  }

  // A removed element, or one with `display: none` on it or an ancestor, has no offsetParent.
  function hidden(el) {
    return !el.offsetParent || !el.offsetHeight || getComputedStyle(el).visibility == "hidden";
  }

  // If the neutral control is hidden too, the page itself hides things right now: no conclusion.
  function cosmetic() { return hidden(control) ? U : baits.some(hidden) ? B : N; }

  // Loads one script (or image) of ours and resolves to N (our own content arrived: the script echoed its
  // one-time value, the image is 2x1), B (something else arrived, or the request failed while our server
  // answers) or U (too slow, or our server answers an error).
  function probe(path, image) {
    return new Promise(function (resolve) {
      var n = Math.random().toString(16).slice(2), // the server takes 8 to 64 hex digits: 13 here, nearly always
        url = new URL(path, base) + "?n=" + n, // the third-party path is a full URL
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
        fetch(url, { cache: "no-store", mode: "no-cors" }).then(function (r) { done(r.ok ? B : U); }, function () {
          done(B);
        });
      };
      setTimeout(function () { done(U); }, config.timeout);
      el.nonce = self.nonce; // the page's Content-Security-Policy nonce, if any
      el.src = url;
      if (!image) doc.head.appendChild(el);
    });
  }

  // The results of the control, the image, the bait scripts and the third-party script, in this order; none
  // when our own host failed: a bad network, not a blocker.
  function requests() {
    var paths = [config.control, config.image].concat(config.baits, config.thirdParty || []);
    return Promise.all(paths.map(function (path, i) { return probe(path, i == 1); })).then(function (r) {
      return r[0] == N && r;
    });
  }

  function network() {
    // One retry when the network looked bad, so that a hiccup does not end as "unknown".
    return requests().then(function (r) {
      return !r || verdict(r.slice(1)) == U ? wait(300).then(requests) : r;
    }).then(function (r) {
      var signals = { script: U, image: U };
      if (!r) clearPending(); // the detector ran and the network failed it: its silence must accuse nobody
      else {
        if (config.thirdParty) signals.third_party = r.pop();
        signals.script = verdict(r.slice(2));
        signals.image = r[1];
      }
      return signals;
    });
  }

  function clearPending() {
    if (config.pending) doc.cookie = config.pending + "=;max-age=0;path=/";
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
      clearPending();
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
        if (!recheck && known(v)) {
          clearPending();
          return { verdict: v };
        }
        return report({ signals: s, path: location.pathname, recheck: !!recheck }, true).then(function (a) {
          return a.verdict ? a : { verdict: v };
        });
      });
    }).then(function (answer) {
      doc.dispatchEvent(new CustomEvent(event, { detail: answer }));
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
      baits = config.classes.map(bait);
      control = bait(config.neutral);
      doc.addEventListener(event, function (e) { if (e.detail === "run") run(true); });
      if (doc.readyState == "complete") run();
      else win.addEventListener("load", function () { run(); });
    } catch (x) { /* never into the page */ }
  }

  start();
  if (consent) doc.addEventListener(consent, start);
  // Consent tools set their cookie when the reader answers: look once a second, for ten minutes at most.
  else if (!baits) timer = setInterval(start, 1000);
})(__CONFIG__);
