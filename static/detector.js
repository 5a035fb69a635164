/*
 * adguard_mw reader check. Served under a neutral per-site name; the server fills in the configuration below.
 *
 * Three independent signals, so that no single failure accuses an innocent reader:
 *   cosmetic - elements with ad-like classes, placed early, measured after load: hidden means a blocker;
 *              a neutral control element styled the same way must stay visible, or the answer is "unknown".
 *   network  - scripts at ad-like paths must run *their own* content: each echoes a one-time random value
 *              back through a DOM event. A blocked request or a stand-in script ("surrogate") cannot.
 *   control  - a script at a neutral path, loaded the same way. If it fails too, the network is at fault
 *              and the network signal is "unknown", never "blocked".
 * The verdict is posted once per page view. Nothing here may throw into the page or delay its rendering.
 */
(function (config) {
  "use strict";
  var doc = document;
  var self = doc.currentScript;
  if (!self || !window.fetch || !window.Promise || !window.CustomEvent) return;
  var base = self.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var nonceAttr = self.nonce || self.getAttribute("nonce") || "";
  var OFFSCREEN = "position:absolute;left:-10000px;top:-1000px;width:10px;height:10px;display:block;";
  var cosmetic = null;

  function randomToken() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // Bait elements go into the page now: blockers hide generic classes only after they have seen them in the DOM.
  function placeBaits() {
    var box = doc.createElement("div");
    box.setAttribute("aria-hidden", "true");
    box.style.cssText = "position:absolute;left:0;top:0;width:0;height:0;overflow:visible;";
    var baits = config.classes.map(function (name) {
      var el = doc.createElement("div");
      el.className = name;
      el.style.cssText = OFFSCREEN;
      el.innerHTML = "&nbsp;";
      return box.appendChild(el);
    });
    var control = doc.createElement("div");
    control.className = config.neutral;
    control.style.cssText = OFFSCREEN;
    control.innerHTML = "&nbsp;";
    box.appendChild(control);
    (doc.body || doc.documentElement).appendChild(box);
    return { box: box, baits: baits, control: control };
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

  // Resolves to "ok" (the file ran its own content), "fake" (something else ran), "error" or "timeout".
  function probe(path) {
    return new Promise(function (resolve) {
      var token = randomToken();
      var el = doc.createElement("script");
      var settled = false;
      function settle(result) {
        if (settled) return;
        settled = true;
        doc.removeEventListener(config.event, onEcho);
        if (el.parentNode) el.parentNode.removeChild(el);
        resolve(result);
      }
      function onEcho(event) { if (event.detail === token) settle("ok"); }
      doc.addEventListener(config.event, onEcho);
      el.async = true;
      if (nonceAttr) el.nonce = nonceAttr;
      el.onload = function () { settle("fake"); }; // runs after the script: a genuine one has echoed by now
      el.onerror = function () { settle("error"); };
      setTimeout(function () { settle("timeout"); }, config.timeout);
      el.src = base + path + "?n=" + token;
      (doc.head || doc.documentElement).appendChild(el);
    });
  }

  function networkSignal() {
    var probes = [probe(config.control)].concat(config.baits.map(function (path) { return probe(path); }));
    return Promise.all(probes).then(function (results) {
      if (results[0] !== "ok") return "unknown"; // cannot tell a blocker from a bad network
      var baits = results.slice(1);
      if (baits.some(function (r) { return r === "error" || r === "fake"; })) return "blocked";
      return baits.every(function (r) { return r === "ok"; }) ? "not_blocked" : "unknown";
    });
  }

  function combine(signals) {
    var values = Object.keys(signals).map(function (key) { return signals[key]; });
    if (values.indexOf("blocked") >= 0) return "blocked";
    return values.every(function (v) { return v === "not_blocked"; }) ? "not_blocked" : "unknown";
  }

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function report(body, attempt) {
    return fetch(base + config.beacon, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.ok ? response.json() : { verdict: body.verdict };
    }, function () {
      return attempt < 1 ? wait(1000).then(function () { return report(body, attempt + 1); }) : { verdict: body.verdict };
    });
  }

  function check(recheck) {
    // Procedural filters act a little after load; measure twice and trust a hide seen either time.
    return Promise.all([networkSignal(), wait(config.settle)]).then(function (results) {
      var first = cosmeticSignal();
      var later = first === "blocked" ? Promise.resolve(first) : wait(config.settle).then(cosmeticSignal);
      return later.then(function (second) {
        var signals = { cosmetic: first === "blocked" ? first : second, network: results[0] };
        var body = { verdict: combine(signals), signals: signals, path: location.pathname };
        if (recheck) body.recheck = true;
        return report(body, 0);
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
