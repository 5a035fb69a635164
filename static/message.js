/*
 * adguard_mw message. Shows the notice, instructions, soft or hard message that the server rendered, and makes
 * it behave: the soft message is a modal dialog (focus moved in and returned, Tab kept inside, Escape and a
 * visible button dismiss it, the page behind it inert); notice and instructions are banners that never take
 * focus; the hard message is ordinary page content. "Check again" re-runs the reader check in place, without
 * leaving the page.
 *
 * The server usually sends this script inline, with the page (a blocked request cannot hide the message), and the
 * behaviour hangs on this site's own data attribute (config.data), not on a fixed name. The page never depends on
 * the message to be usable: whatever hides or removes the message (a cosmetic filter) gives the page back at
 * once, and only a message seen on screen is confirmed to the server (the "seen" URL on the message).
 *
 * Local mode (config.local: the site runs without a beacon): the server cannot know the verdict, so it inserts
 * the message into every page and this script keeps it out of sight until the check in this page reports
 * "blocked" of kind "extension". "Continue" is then remembered in localStorage for config.cooldown seconds (the
 * only thing ever stored, and only when the reader chooses it), and nothing is sent to the server.
 *
 * Client-side navigation and the page API (docs/page-api.md) live here too; the detector loads this script on
 * pages that have no message. Each route change (History API, Navigation API) is posted to the server
 * (config.navigate, with a one-time value its answer must echo), which counts it as a page view and answers what
 * to show, with the markup; the hard wall then covers the whole page, and the rest is inert and hidden until the
 * server says otherwise. A request that is refused while the network works is a blocker's doing: it is reported
 * as such, and the route is loaded in full, where the server decides as on any page.
 */
(function (config) {
  "use strict";
  var doc = document, win = window, event = config.event;
  // One copy per page (inline with a message, or loaded by the detector): the first to run answers the others.
  var ping = {};
  doc.dispatchEvent(new CustomEvent(event, { detail: ping }));
  if (ping.api) return;
  var D = config.data;
  var FOCUSABLE = "a[href],button:not([disabled]),input:not([type=hidden]),summary,[tabindex]:not([tabindex='-1'])";
  var KEY = config.css + "-dismissed"; // localStorage, local mode only, written only when the reader dismisses

  // The message's behaviour, for markup in the page (the server's, or a navigation's) or in its template.
  function start(root, template) {
    var mode, status, form, title, opener, layer, watcher;
    var madeInert = [], madeHidden = [];
    var checking = false;
    var fallback = null;
    var watch = null;
    var confirmed = false;

    // Without a beacon (config.local) the server inserts the message, unseen, into every page: it is shown only
    // when the check in this page says "blocked" by something in the browser, and not within the cool-down.
    function show() {
      if (!root) {
        root = template.content.firstElementChild.cloneNode(true);
        doc.body.appendChild(root);
      }
      mode = root.getAttribute(D);
      status = root.querySelector("." + config.css + "-status");
      form = root.querySelector("form");
      title = root.querySelector("#" + config.css + "-title");
      layer = root.closest("." + config.css + "-layer");
      opener = doc.activeElement;
      if (layer) {
        // The wall over a client-side route: the rest of the page, and whatever the router adds, is inert and
        // out of sight (through the DOM, not a stylesheet a rule could block), until the server says otherwise.
        watcher = new MutationObserver(cover);
        watcher.observe(doc.body, { childList: true });
        cover();
      } else if (!visible()) return release(); // hidden the moment it arrived: the page stays as it is
      if (mode === "soft") {
        Array.prototype.forEach.call(doc.body.children, function (el) {
          if (el !== root && !el.inert) { el.inert = true; madeInert.push(el); }
        });
      }
      if (mode === "soft" || layer) doc.documentElement.classList.add(config.css + "-open");
      if ((mode === "soft" || mode === "hard") && title) title.focus(); // banners never take focus
      root.addEventListener("click", onClick);
      root.addEventListener("keydown", onKey);
      // Filters hide elements late (after they see them): look again while the message is up.
      watch = setInterval(function () {
        if (layer) { if (!layer.isConnected) doc.body.appendChild(layer); } // a router's re-render: put back
        else if (!visible()) release();
        else if (!confirmed) confirm();
      }, config.confirm);
    }

    function cover() {
      Array.prototype.forEach.call(doc.body.children, function (el) {
        if (el === layer || el.inert) return;
        el.inert = true;
        madeInert.push(el);
        // The detector's probes stay measurable: "check again" must still see a reader who stopped blocking.
        if (el.localName !== config.probe || !el.hasAttribute("aria-hidden")) {
          madeHidden.push([el, el.style.visibility]);
          el.style.visibility = "hidden";
        }
      });
      if (!layer.isConnected) doc.body.appendChild(layer);
    }

    // On screen: in the document, laid out, not invisible; its heading too (a rule may hide the inside only).
    function visible() {
      return [root, title || root].every(function (el) {
        return el.isConnected && el.getClientRects().length && getComputedStyle(el).visibility != "hidden";
      });
    }

    // The server counts a message as shown only when the page says it stayed on screen (hard walls are
    // counted by the server itself: it sent them instead of the page).
    function confirm() {
      confirmed = true;
      var url = root.getAttribute(D + "-seen");
      if (url && !config.local && mode !== "hard") post(url, { path: location.pathname, mode: mode });
    }

    // Something hid or removed the message: give the page back (nothing inert, scrolling restored).
    function release() {
      clearInterval(watch);
      if (watcher) watcher.disconnect();
      madeInert.forEach(function (el) { el.inert = false; });
      madeHidden.forEach(function (pair) { pair[0].style.visibility = pair[1]; });
      madeInert = [];
      madeHidden = [];
      doc.documentElement.classList.remove(config.css + "-open");
    }

    function post(url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        keepalive: true,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body)
      }).catch(function () {});
    }

    // When the reader last chose "continue", in milliseconds (local mode only; 0 when never or unreadable).
    function dismissedAt() {
      try { return Number(localStorage.getItem(KEY)) || 0; } catch (e) { return 0; }
    }

    function close() {
      var el = layer || root;
      if (el.parentNode) el.parentNode.removeChild(el);
      release();
      if (mode === "soft" && opener && opener.focus) opener.focus();
      if (shown === self) shown = null;
    }

    function dismiss() {
      if (config.local) {
        try { localStorage.setItem(KEY, String(Date.now())); } catch (e) { /* storage off: asked again later */ }
        close();
        return;
      }
      post(root.getAttribute(D + "-dismiss"), { path: location.pathname });
      close();
    }

    function checkAgain() {
      if (checking) return;
      checking = true;
      status.textContent = "…";
      // If the check itself never answers (its script blocked, say), fall back to the plain form post. Not in
      // local mode: there the message is only ever shown by a running check, and nothing goes to the server.
      if (!config.local) fallback = setTimeout(function () { form.submit(); }, config.fallback);
      doc.dispatchEvent(new CustomEvent(config.event, { detail: "run" }));
    }

    // The reader check reports here, whether it ran on load (a reader who just turned the blocker off and
    // reloaded) or because "check again" asked: once it says "not blocked", the message goes at once.
    doc.addEventListener(event, function (e) {
      var detail = e.detail;
      if (!detail || !detail.verdict || shown !== self) return;
      if (!mode) {
        // A path rule's own cool-down, if the server put one on the message, wins over the site's.
        var cooldown = (root || template.content.firstElementChild).getAttribute(D + "-cooldown") || config.cooldown;
        if (detail.verdict === "blocked" && detail.kind === "extension" && Date.now() - dismissedAt() >= cooldown * 1000) {
          show();
        }
        return;
      }
      var wasChecking = checking;
      checking = false;
      clearTimeout(fallback);
      if (detail.verdict === "not_blocked") end();
      else if (wasChecking) {
        status.textContent = status.getAttribute(D + "-still");
      }
    });

    // The server no longer asks: the message goes; a wall served instead of the page needs the page again.
    function end() {
      if (mode !== "hard" || layer) close();
      else if (reloadAllowed()) location.reload();
    }

    function reloadAllowed() {
      // Never loop: at most one automatic reload in ten seconds.
      try {
        var key = config.css + "-reloaded";
        var last = Number(sessionStorage.getItem(key) || 0);
        if (Date.now() - last < 10000) return false;
        sessionStorage.setItem(key, String(Date.now()));
      } catch (e) { /* storage may be off: reloading once is still right */ }
      return true;
    }

    function onClick(event) {
      var target = event.target.closest ? event.target.closest("[" + D + "-action]") : null;
      if (!target) return;
      event.preventDefault();
      if (target.getAttribute(D + "-action") === "dismiss") dismiss();
      else checkAgain();
    }

    function onKey(event) {
      if (mode !== "soft" && !layer) return;
      if (event.key === "Escape" && !layer) { event.preventDefault(); dismiss(); return; }
      if (event.key !== "Tab") return;
      var items = Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
        return el.offsetParent !== null;
      });
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && (doc.activeElement === first || doc.activeElement === title)) {
        event.preventDefault(); last.focus();
      } else if (!event.shiftKey && doc.activeElement === last) {
        event.preventDefault(); first.focus();
      }
    }

    // again(): a new page view under the same message (a route change): confirmed on screen for it too.
    var self = { end: end, mode: function () { return mode; }, again: function () { confirmed = false; } };
    shown = self;
    if (!config.local) show();
    return self;
  }

  // The page API and client-side navigation ------------------------------------------------------------------

  var shown = null, // the message on screen (start's handle), if any
    listeners = [],
    queue = Promise.resolve(), // navigation requests, one at a time: answers apply in the order asked
    detector = doc.querySelector("script[src*='/" + config.script + "?']"),
    base = detector ? detector.src.replace(/[^/]*([?#].*)?$/, "") : "",
    entry = win.performance && performance.getEntriesByType && performance.getEntriesByType("navigation")[0],
    last = entry ? new URL(entry.name).pathname : location.pathname, // the path the server saw in full
    state = { verdict: null, kind: null, show: null, path: last },
    checks = [];

  function copy() { return { verdict: state.verdict, kind: state.kind, show: state.show, path: state.path }; }

  // A new status for the site's listeners, in order, each call on its own (a listener's error stays its own).
  function update(changes) {
    for (var key in changes) state[key] = changes[key];
    listeners.slice().forEach(function (fn) {
      try { fn(copy()); } catch (x) { setTimeout(function () { throw x; }); }
    });
  }

  function look() {
    var path = location.pathname;
    if (path !== last) {
      last = path;
      update({ path: path });
      if (config.navigate) go(path, false);
    }
  }

  // Tell the server (again: only ask, without counting a view) and apply its answer.
  function go(path, again) {
    var n = Math.random().toString(36).slice(2, 14);
    if (!detector) return Promise.resolve(copy()); // no detector in this page: nowhere to ask
    return queue = queue.then(function () {
      return fetch(base + config.navigate, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ path: path, n: n, again: again })
      }).then(function (r) {
        // An error status is our server's trouble: nothing to conclude. A stand-in answer cannot echo n.
        return r.ok && r.json().then(function (a) { if (a.n !== n) throw a; return a; });
      }).then(function (a) { return a && apply(a, again); }, function () { return refused(path); });
    }).then(copy, copy); // whatever happened, the next navigation is still told
  }

  // Our request failed or was answered by something else. If this very site still answers (the detector's file),
  // a blocker singled the request out: report that to the real beacon, and load the route in full, where the
  // server counts and decides as on any page. If not, the network is down: nothing to conclude.
  function refused(path) {
    var opts = { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" } };
    return fetch(detector.src, { cache: "no-store" }).then(function (r) {
      if (!r.ok) return;
      opts.body = JSON.stringify({ signals: { script: "blocked" }, path: path, recheck: false });
      return fetch(base + config.beacon, opts).catch(function () {}).then(function () {
        if (location.pathname === path) location.reload();
      });
    }, function () {});
  }

  function apply(a, again) {
    update({ verdict: a.verdict, kind: a.kind, show: a.show });
    var mode = shown && shown.mode();
    if (!a.show) { if (shown) shown.end(); return; }
    if (mode === a.show && !again) shown.again(); // still on screen, for this view too
    if (config.site || !a.html || mode === a.show) return; // the site's own UI, or already there
    var holder = doc.createElement("template");
    try {
      holder.innerHTML = a.html; // our server's markup, escaped by its templates
    } catch (x) {
      return location.reload(); // Trusted Types refuse it: the server shows it with the page
    }
    var el = holder.content.firstElementChild, link = doc.querySelector("link[href='" + a.style + "']");
    return new Promise(function (resolve) {
      function put() {
        if (shown) shown.end();
        doc.body.appendChild(el);
        start(el.querySelector("[" + D + "]") || el);
        resolve();
      }
      if (link) return put();
      link = doc.createElement("link"); // our stylesheet, before the markup it styles
      link.rel = "stylesheet";
      link.href = a.style;
      link.nonce = (doc.querySelector("style[nonce],link[nonce]") || {}).nonce || ""; // the page's CSP, as ours
      link.onload = link.onerror = put;
      doc.head.appendChild(link);
    });
  }

  var api = {
    // The reader's status now: {verdict, kind, show, path}.
    status: copy,
    // fn(status) now and after every change, in order; returns the function that stops it.
    subscribe: function (fn) {
      listeners.push(fn);
      fn(copy());
      return function () { listeners = listeners.filter(function (f) { return f !== fn; }); };
    },
    // Run the check again (after consent, say); resolves with the status its answer makes.
    check: function () {
      return new Promise(function (resolve) {
        checks.push(resolve);
        doc.dispatchEvent(new CustomEvent(event, { detail: "run" }));
      });
    },
    // A route change the History API did not show (the path, or the current one); resolves with the status.
    navigate: function (path) {
      if (path && path !== last) { last = path; update({ path: path }); }
      return config.navigate ? go(path || last, false) : Promise.resolve(copy());
    },
    // "This reader is a subscriber": the server asks the site's exempt hook; nothing is taken on the page's word.
    subscriber: function () {
      return config.navigate ? go(last, true) : Promise.resolve(copy());
    }
  };
  ping.api = api;

  doc.addEventListener(event, function (e) {
    var d = e.detail;
    if (!d || typeof d !== "object") return;
    if (!d.verdict) { d.api = api; return look(); } // asked for the API (the detector, the site's helper)
    update({ verdict: d.verdict, kind: d.kind || (d.verdict === "blocked" ? state.kind : null),
      show: d.verdict === "not_blocked" ? null : state.show });
    checks.splice(0).forEach(function (resolve) { resolve(copy()); });
  });

  try {
    ["pushState", "replaceState"].forEach(function (name) {
      var original = history[name];
      history[name] = function () {
        var result = original.apply(this, arguments);
        look();
        return result;
      };
    });
    win.addEventListener("popstate", look);
    if (win.navigation) navigation.addEventListener("currententrychange", look);
  } catch (x) { /* never into the page */ }

  function begin() {
    var root = doc.querySelector("." + config.css + "[" + D + "]");
    var template = doc.getElementById(config.css + "-message");
    if (root || template && template.content) {
      start(root, template);
      if (!config.local) update({ show: shown.mode() });
    } else if (config.site && config.navigate) go(last, true); // the site shows it: ask what the server decided
    look();
    doc.dispatchEvent(new CustomEvent(event, { detail: { api: api } }));
  }

  try {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", begin);
    else begin();
  } catch (e) { /* never into the page */ }
})(__CONFIG__);
