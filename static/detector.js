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
 */
(function (config) {
  "use strict";
  var doc = document, win = window, self = doc.currentScript;
  if (!self || !win.fetch || !win.Promise || !win.CustomEvent) return;
  if (config.gpc && navigator.globalPrivacyControl) return; // the reader asked not to be tracked: no check
  var base = self.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var nonce = self.nonce || "";
  var B = "blocked", N = "not_blocked", U = "unknown";
  var baits, control, checking;

  function token() { return Date.now().toString(16) + Math.random().toString(16).slice(2); }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // Bait elements go into the page at once: blockers hide generic classes only after they see them in the DOM.
  function bait(name) {
    var el = doc.createElement("div");
    el.className = name;
    el.setAttribute("aria-hidden", "true");
    el.style.cssText = "position:absolute;left:-9999px;top:-999px;width:9px;height:9px;display:block";
    el.innerHTML = "&nbsp;";
    return (doc.body || doc.documentElement).appendChild(el);
  }

  function hidden(el) {
    var style = win.getComputedStyle(el);
    return !el.isConnected || !el.offsetParent || !el.offsetHeight || style.display == "none" ||
      style.visibility == "hidden";
  }

  // If the neutral control is hidden too, the page itself hides things right now: no conclusion.
  function cosmetic() { return hidden(control) ? U : baits.some(hidden) ? B : N; }

  // Loads one script (or image) of ours and resolves to "ok" (our own content arrived: the script echoed its
  // one-time value, the image is 2x1), "fake" (something else arrived), "error" or "slow".
  function probe(path, image) {
    return new Promise(function (resolve) {
      var n = token(), url = (/^https?:/.test(path) ? path : base + path) + "?n=" + n;
      var el = doc.createElement(image ? "img" : "script"), settled = false;
      function done(result) {
        if (settled) return;
        settled = true;
        doc.removeEventListener(config.event, echo);
        if (el.parentNode) el.parentNode.removeChild(el);
        resolve(result);
      }
      function echo(event) { if (event.detail === n) done("ok"); }
      doc.addEventListener(config.event, echo);
      // For a script, load fires after it ran: a genuine one has echoed by then.
      el.onload = function () { done(image && el.naturalWidth == 2 && el.naturalHeight == 1 ? "ok" : "fake"); };
      el.onerror = function () {
        // Blocked, unless our server is in trouble: fetch() is rarely filtered, and a server error answers.
        fetch(url, { cache: "no-store", mode: "no-cors" }).then(function (r) { done(r.ok ? "error" : "slow"); }, function () {
          done("error");
        });
      };
      setTimeout(function () { done("slow"); }, config.timeout);
      if (nonce) el.nonce = nonce;
      el.src = url;
      if (!image) (doc.head || doc.documentElement).appendChild(el);
    });
  }

  function judge(results) {
    return results.some(function (r) { return r == "error" || r == "fake"; }) ? B :
      results.every(function (r) { return r == "ok"; }) ? N : U;
  }

  // The same rule the server applies: any blocked signal is blocked, all clear is not blocked.
  function verdict(signals) {
    var values = Object.keys(signals).map(function (key) { return signals[key]; });
    return values.indexOf(B) >= 0 ? B : values.every(function (v) { return v == N; }) ? N : U;
  }

  function requests() {
    var paths = [config.control, config.image].concat(config.baits, config.thirdParty || []);
    return Promise.all(paths.map(function (path, i) { return probe(path, i == 1); })).then(function (r) {
      if (r[0] != "ok") return null; // our own host failed: a bad network, not a blocker
      var signals = { script: judge(r.slice(2, 2 + config.baits.length)), image: judge([r[1]]) };
      if (config.thirdParty) signals.third_party = judge(r.slice(-1));
      return signals;
    });
  }

  function network() {
    // One retry when the network looked bad, so that a hiccup does not end as "unknown".
    return requests().then(function (signals) {
      return !signals || verdict(signals) == U ? wait(300).then(requests) : signals;
    }).then(function (signals) {
      if (signals) return signals;
      clearPending(); // the detector ran and the network failed it: its silence must accuse nobody
      return { script: U, image: U };
    });
  }

  function clearPending() {
    if (config.pending) doc.cookie = config.pending + "=; Max-Age=0; Path=/; SameSite=Lax";
  }

  // The server's summary cookie ("b.<time>"): an unchanged, recent verdict is not reported again.
  function known(v) {
    var m = doc.cookie.match(new RegExp("(?:^|; )" + config.companion + "=(\\w)\\.(\\d+)"));
    return m && m[1] == v.charAt(0) && Date.now() / 1000 - m[2] < config.refresh;
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
      var signals = r[0], first = cosmetic();
      return (first == B ? Promise.resolve(B) : wait(config.settle).then(cosmetic)).then(function (seen) {
        signals.cosmetic = seen;
        var v = verdict(signals);
        if (!recheck && known(v)) {
          clearPending();
          return { verdict: v };
        }
        return report({ signals: signals, path: location.pathname, recheck: !!recheck }, true).then(function (a) {
          return a.verdict ? a : { verdict: v };
        });
      });
    }).then(function (answer) {
      doc.dispatchEvent(new CustomEvent(config.event, { detail: { verdict: answer.verdict } }));
    });
  }

  function run(recheck) {
    if (checking) return;
    checking = true;
    check(recheck).catch(function () {}).then(function () { checking = false; });
  }

  try {
    baits = config.classes.map(bait);
    control = bait(config.neutral);
    doc.addEventListener(config.event, function (event) { if (event.detail === "run") run(true); });
    if (doc.readyState == "complete") run();
    else win.addEventListener("load", function () { run(); });
  } catch (e) { /* never into the page */ }
})(__CONFIG__);
