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
 */
(function (config) {
  "use strict";
  var doc = document;
  var D = config.data;
  var FOCUSABLE = "a[href],button:not([disabled]),input:not([type=hidden]),summary,[tabindex]:not([tabindex='-1'])";
  var KEY = config.css + "-dismissed"; // localStorage, local mode only, written only when the reader dismisses

  function start() {
    var root = doc.querySelector("." + config.css + "[" + D + "]");
    var template = doc.getElementById(config.css + "-message");
    if (!root && !(template && template.content)) return;
    var mode, status, form, title, opener;
    var madeInert = [];
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
      title = doc.getElementById(config.css + "-title");
      opener = doc.activeElement;
      if (!visible()) return release(); // hidden the moment it arrived: the page stays as it is
      if (mode === "soft") {
        Array.prototype.forEach.call(doc.body.children, function (el) {
          if (el !== root && !el.inert) { el.inert = true; madeInert.push(el); }
        });
        doc.documentElement.classList.add(config.css + "-open");
      }
      if ((mode === "soft" || mode === "hard") && title) title.focus(); // banners never take focus
      root.addEventListener("click", onClick);
      root.addEventListener("keydown", onKey);
      // Filters hide elements late (after they see them): look again while the message is up.
      watch = setInterval(function () {
        if (!visible()) release();
        else if (!confirmed) confirm();
      }, config.confirm);
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
      if (url && !config.local) post(url, { path: location.pathname, mode: mode });
    }

    // Something hid or removed the message: give the page back (nothing inert, scrolling restored).
    function release() {
      clearInterval(watch);
      madeInert.forEach(function (el) { el.inert = false; });
      madeInert = [];
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
      if (root.parentNode) root.parentNode.removeChild(root);
      release();
      if (mode === "soft" && opener && opener.focus) opener.focus();
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
    doc.addEventListener(config.event, function (event) {
      var detail = event.detail;
      if (!detail || typeof detail !== "object") return;
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
      if (detail.verdict === "not_blocked") {
        if (mode !== "hard") close();
        else if (reloadAllowed()) location.reload();
      } else if (wasChecking) {
        status.textContent = status.getAttribute(D + "-still");
      }
    });

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
      if (mode !== "soft") return;
      if (event.key === "Escape") { event.preventDefault(); dismiss(); return; }
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

    if (!config.local) show();
  }

  try {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
    else start();
  } catch (e) { /* never into the page */ }
})(__CONFIG__);
