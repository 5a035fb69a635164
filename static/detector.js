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
  var doc = document;
  var self = doc.currentScript;
  if (!self || !window.fetch || !window.Promise || !window.CustomEvent) return;
  var base = self.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var nonceAttr = self.nonce || self.getAttribute("nonce") || "";
  var OFFSCREEN = "position:absolute;left:-10000px;top:-1000px;width:10px;height:10px;display:block;";
  var CODES = { blocked: "b", not_blocked: "n", unknown: "u" };
  var cosmetic = null;

  function randomToken() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // Bait elements go into the page now: blockers hide generic classes only after they have seen them in the DOM.
  function placeBaits() {
    var box = doc.createElement("div");
    box.setAttribute("aria-hidden", "true");
    box.style.cssText = "position:absolute;left:0;top:0;width:0;height:0;overflow:visible;";
    function bait(name) {
      var el = doc.createElement("div");
      el.className = name;
      el.style.cssText = OFFSCREEN;
      el.innerHTML = "&nbsp;";
      return box.appendChild(el);
    }
    var baits = config.classes.map(bait);
    var control = bait(config.neutral);
    (doc.body || doc.documentElement).appendChild(box);
    return { baits: baits, control: control };
  }

  function isHidden(el) {
    if (!el.isConnected || el.offsetParent === null || el.offsetHeight === 0 || el.offsetWidth === 0) return true;
    var style = window.getComputedStyle(el);
    return style.display === "none" || style.visibility === "hidden";
  }

  function cosmeticSignal() {
    if (isHidden(cosmetic.control)) return "unknown"; // the page itself hides things right now
    return cosmetic.baits.some(isHidden) ? "blocked" : "not_blocked";
  }

  // Each probe resolves to "ok" (our own content arrived), "fake" (something else did), "error" or "timeout".
  function settleOnce(resolve, cleanup) {
    var settled = false;
    return function (result) {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(result);
    };
  }

  function probeScript(url) {
    return new Promise(function (resolve) {
      var token = randomToken();
      var el = doc.createElement("script");
      var settle = settleOnce(resolve, function () {
        doc.removeEventListener(config.event, onEcho);
        if (el.parentNode) el.parentNode.removeChild(el);
      });
      function onEcho(event) { if (event.detail === token) settle("ok"); }
      doc.addEventListener(config.event, onEcho);
      el.async = true;
      if (nonceAttr) el.nonce = nonceAttr;
      el.onload = function () { settle("fake"); }; // fires after the script ran: a genuine one has echoed by now
      el.onerror = function () { serverTrouble(url).then(function (trouble) { settle(trouble ? "timeout" : "error"); }); };
      setTimeout(function () { settle("timeout"); }, config.timeout);
      el.src = url + "?n=" + token;
      (doc.head || doc.documentElement).appendChild(el);
    });
  }

  // A script that fails to load was blocked, unless the server itself is in trouble: ask it directly. Filter
  // rules for scripts rarely cover fetch(), and a blocked fetch fails outright, while a server error answers.
  function serverTrouble(url) {
    return fetch(url + "?n=" + randomToken(), { cache: "no-store", credentials: "omit" }).then(
      function (response) { return response.status >= 500 || response.status === 404; },
      function () { return false; }
    );
  }

  function probeImage(url) {
    return new Promise(function (resolve) {
      var img = new Image();
      var settle = settleOnce(resolve, function () { img.onload = img.onerror = null; });
      img.onload = function () { settle(img.naturalWidth === 2 && img.naturalHeight === 1 ? "ok" : "fake"); };
      img.onerror = function () { serverTrouble(url).then(function (trouble) { settle(trouble ? "timeout" : "error"); }); };
      setTimeout(function () { settle("timeout"); }, config.timeout);
      img.src = url + "?n=" + randomToken();
    });
  }

  function judge(results) {
    if (results.some(function (r) { return r === "error" || r === "fake"; })) return "blocked";
    return results.every(function (r) { return r === "ok"; }) ? "not_blocked" : "unknown";
  }

  function requestSignals() {
    var probes = [probeScript(base + config.control), probeImage(base + config.image)]
      .concat(config.baits.map(function (path) { return probeScript(base + path); }));
    if (config.thirdParty) probes.push(probeScript(config.thirdParty));
    return Promise.all(probes).then(function (r) {
      if (r[0] !== "ok") return null; // our own host failed: cannot tell a blocker from a bad network
      var signals = { script: judge(r.slice(2, 2 + config.baits.length)), image: judge([r[1]]) };
      if (config.thirdParty) signals.third_party = judge([r[r.length - 1]]);
      return signals;
    });
  }

  function networkSignals() {
    // One retry when the network looked bad, so a brief hiccup does not turn into "unknown".
    return requestSignals().then(function (signals) {
      var doubtful = !signals || Object.keys(signals).some(function (k) { return signals[k] === "unknown"; });
      return doubtful ? wait(300).then(requestSignals) : signals;
    }).then(function (signals) {
      if (signals) return signals;
      clearPending(); // the detector ran, the network failed it: its silence must not accuse anyone
      var unknown = { script: "unknown", image: "unknown" };
      if (config.thirdParty) unknown.third_party = "unknown";
      return unknown;
    });
  }

  function combine(signals) {
    var values = Object.keys(signals).map(function (key) { return signals[key]; });
    if (values.indexOf("blocked") >= 0) return "blocked";
    return values.every(function (v) { return v === "not_blocked"; }) ? "not_blocked" : "unknown";
  }

  function readCookie(name) {
    var match = doc.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? match[1] : "";
  }

  function clearPending() {
    if (config.pending) doc.cookie = config.pending + "=; Max-Age=0; Path=/; SameSite=Lax";
  }

  function alreadyKnown(verdict) {
    var stored = readCookie(config.companion).split(".");
    var age = Date.now() / 1000 - Number(stored[1]);
    return stored[0] === CODES[verdict] && age >= 0 && age < config.refresh;
  }

  function report(body, attempt) {
    return fetch(base + config.beacon, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("beacon " + response.status);
      clearPending();
      return response.json();
    }).catch(function () {
      return attempt < 1 ? wait(1000).then(function () { return report(body, attempt + 1); }) : null;
    });
  }

  function check(recheck) {
    // Procedural filters act a little after load: measure twice and trust a hide seen either time.
    return Promise.all([networkSignals(), wait(config.settle)]).then(function (results) {
      var first = cosmeticSignal();
      var later = first === "blocked" ? Promise.resolve(first) : wait(config.settle).then(cosmeticSignal);
      return later.then(function (second) {
        var signals = results[0];
        signals.cosmetic = first === "blocked" ? first : second;
        var verdict = combine(signals);
        if (!recheck && alreadyKnown(verdict)) {
          clearPending();
          return { verdict: verdict };
        }
        var body = { signals: signals, path: location.pathname };
        if (recheck) body.recheck = true;
        return report(body, 0).then(function (answer) { return answer || { verdict: verdict }; });
      });
    }).then(function (answer) {
      doc.dispatchEvent(new CustomEvent(config.event, { detail: { verdict: answer.verdict } }));
    });
  }

  function guarded(fn) {
    return function () {
      try {
        var result = fn.apply(null, arguments);
        if (result && result.catch) result.catch(function () {});
      } catch (e) { /* never into the page */ }
    };
  }

  var checking = false;
  var run = guarded(function (recheck) {
    if (checking) return;
    checking = true;
    return check(recheck).then(function () { checking = false; }, function () { checking = false; });
  });

  guarded(function () {
    cosmetic = placeBaits();
    doc.addEventListener(config.event, function (event) { if (event.detail === "run") run(true); });
    if (doc.readyState === "complete") run(false);
    else window.addEventListener("load", function () { run(false); });
  })();
})(__CONFIG__);
