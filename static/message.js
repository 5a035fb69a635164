/*
 * adguard_mw message. Shows the notice, soft or hard message that the server rendered, and makes it behave:
 * the soft message is a modal dialog (focus moved in and returned, Tab kept inside, Escape and a visible button
 * dismiss it, the page behind it inert); the notice is a banner that never takes focus; the hard message is
 * ordinary page content. "Check again" re-runs the reader check in place, without leaving the page.
 */
(function (config) {
  "use strict";
  var doc = document;
  var self = doc.currentScript;
  if (!self) return;
  var base = self.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var FOCUSABLE = "a[href],button:not([disabled]),input:not([type=hidden]),summary,[tabindex]:not([tabindex='-1'])";

  function start() {
    var root = doc.querySelector("." + config.css + "[data-mode]");
    var template = doc.getElementById(config.css + "-message");
    if (!root && template && template.content) {
      root = template.content.firstElementChild.cloneNode(true);
      doc.body.appendChild(root);
    }
    if (!root) return;
    var mode = root.getAttribute("data-mode");
    var status = root.querySelector("." + config.css + "-status");
    var form = root.querySelector("form");
    var title = doc.getElementById(config.css + "-title");
    var opener = doc.activeElement;
    var madeInert = [];
    var checking = false;
    var fallback = null;

    if (mode === "soft") {
      Array.prototype.forEach.call(doc.body.children, function (el) {
        if (el !== root && !el.inert) { el.inert = true; madeInert.push(el); }
      });
      doc.documentElement.classList.add(config.css + "-open");
    }
    if (mode !== "notice" && title) title.focus();

    function close() {
      if (root.parentNode) root.parentNode.removeChild(root);
      madeInert.forEach(function (el) { el.inert = false; });
      doc.documentElement.classList.remove(config.css + "-open");
      if (mode === "soft" && opener && opener.focus) opener.focus();
    }

    function dismiss() {
      fetch(base + config.dismiss, {
        method: "POST",
        credentials: "same-origin",
        keepalive: true,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ path: location.pathname })
      }).catch(function () {});
      close();
    }

    function checkAgain() {
      if (checking) return;
      checking = true;
      status.textContent = "…";
      // If the check itself never answers (its script blocked, say), fall back to the plain form post.
      fallback = setTimeout(function () { form.submit(); }, config.fallback);
      doc.dispatchEvent(new CustomEvent(config.event, { detail: "run" }));
    }

    // The reader check reports here, whether it ran on load (a reader who just turned the blocker off and
    // reloaded) or because "check again" asked: once it says "not blocked", the message goes at once.
    doc.addEventListener(config.event, function (event) {
      var detail = event.detail;
      if (!detail || typeof detail !== "object") return;
      var wasChecking = checking;
      checking = false;
      clearTimeout(fallback);
      if (detail.verdict === "not_blocked") {
        if (mode !== "hard") close();
        else if (reloadAllowed()) location.reload();
      } else if (wasChecking) {
        status.textContent = status.getAttribute("data-still");
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

    root.addEventListener("click", function (event) {
      var target = event.target.closest ? event.target.closest("[data-action]") : null;
      if (!target) return;
      event.preventDefault();
      if (target.getAttribute("data-action") === "dismiss") dismiss();
      else checkAgain();
    });

    root.addEventListener("keydown", function (event) {
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
    });
  }

  try {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", start);
    else start();
  } catch (e) { /* never into the page */ }
})(__CONFIG__);
