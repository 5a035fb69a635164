/*
 * adguard_mw ad slots. The detector loads this only for a reader it found blocking, and the server sends the
 * house message in it only when its own signed cookie says the same: a clean reader never gets this far.
 *
 * The site marks its ad slots (config.selector: its own selector and this deployment's data attribute). Each
 * slot is looked at every config.every ms, and judged on what the page shows, never on timing alone:
 *   ad      - a visible frame, loaded image, video, object, embed or canvas of some size is inside the slot, or
 *             any element of some size the page put there after this script first saw the slot (a native ad):
 *             the ad arrived (a site may fill a slot late). Nothing is added; a house message already there goes.
 *   hidden  - the slot (or something around it) has no box, and the page's own style sheets do not hide it
 *             (a slot for another screen size is not a blocked one): a cosmetic rule did. The house message
 *             goes at once after the outermost hidden element, never inside a hidden one.
 *   removed - the slot left the document: the house message goes where it was.
 *   empty   - the slot is shown but holds no ad: once it has been on or near the screen for config.wait ms
 *             (lazy slots fill as they come into view), the house message goes inside it, in its space.
 * The house message has only this deployment's class and its own constructed style sheet, so generic rules
 * aimed at ad slots (##.ad-slot, ##[data-ad]) do not match it. Once it has stayed on screen for config.confirm
 * ms it is counted (the server's slot_filled event). Nothing here may throw into the page.
 */
(function (config) {
  "use strict";
  var doc = document, win = window, C = config.cls,
    AD = "iframe,img,video,object,embed,canvas",
    known = new WeakMap(), slots = [], made = 0, confirmed = 0, sent = 0, started = Date.now(), timer;

  // Laid out: in the document and with a box (display:none on it or around it leaves none).
  function shown(el) {
    return el.isConnected && el.getClientRects().length > 0 && getComputedStyle(el).visibility != "hidden";
  }

  // Whether one of the page's own rules (not an extension's: those are not in document.styleSheets) hides el.
  function ownRule(el) {
    if (el.hidden || el.style.display == "none") return true;
    function hides(rules) {
      return [].some.call(rules, function (r) {
        if (r.selectorText) {
          try { return r.style.display == "none" && el.matches(r.selectorText); } catch (x) { return false; }
        }
        return r.cssRules && (!r.media || win.matchMedia(r.media.mediaText).matches) && hides(r.cssRules);
      });
    }
    return [].some.call(doc.styleSheets, function (sheet) {
      try { return hides(sheet.cssRules); } catch (x) { return false; } // another origin's sheet: unread
    });
  }

  // The outermost hidden element from el up (el itself when only it is hidden), and whether the page's own
  // rules hide any of them.
  function outermost(el) {
    var top = el, own = ownRule(el);
    while (top.parentElement && top.parentElement != doc.body && !shown(top.parentElement)) {
      top = top.parentElement;
      own = own || ownRule(top);
    }
    return { top: top, own: own };
  }

  // An ad arrived: a frame, loaded image, video, object, embed or canvas with a size, or any element with a size
  // that the page added to the slot after we first saw it (a native ad, say); never our own.
  function ad(s) {
    return [].some.call(s.el.querySelectorAll("*"), function (el) {
      var r = el.getBoundingClientRect();
      return r.width > 2 && r.height > 2 && (el.matches(AD) ? el.tagName != "IMG" || el.naturalWidth > 0 :
        !s.before.has(el)) && !el.closest("." + C) && shown(el); // a blocked image keeps its box, not its pixels
    });
  }

  // On the screen or within a screen's height of it.
  function near(el) {
    var r = el.getBoundingClientRect(), h = win.innerHeight;
    return r.bottom > -h && r.top < 2 * h;
  }

  function house(n) {
    var t = doc.createElement("template"), el;
    t.innerHTML = config.html;
    el = t.content.firstElementChild;
    // Each landmark needs a name of its own: the second says "(2)", and so on.
    if (n) el.setAttribute("aria-label", el.getAttribute("aria-label") + " (" + (n + 1) + ")");
    return el;
  }

  function put(s, inside) {
    var el = s.el, h = s.house || (s.house = house(made++)), at;
    if (!s.placed) s.placed = Date.now();
    if (!el.isConnected) {
      if (!h.isConnected && s.parent.isConnected) {
        s.parent.insertBefore(h, s.next && s.next.parentNode == s.parent ? s.next : null);
      }
    } else if (inside) {
      if (h.parentNode != el) el.appendChild(h);
    } else {
      at = s.outside.top;
      if (at.nextSibling != h) at.parentNode.insertBefore(h, at.nextSibling);
    }
  }

  function take(s) {
    if (s.house && s.house.isConnected) s.house.remove();
    s.placed = s.since = 0;
  }

  function look(s, now) {
    var el = s.el;
    if (!el.isConnected) return put(s);
    if (!shown(el)) {
      s.outside = s.outside || outermost(el); // worked out once per time it is hidden
      return s.outside.own ? take(s) : put(s);
    }
    s.outside = null;
    s.parent = el.parentNode;
    s.next = el.nextSibling;
    if (ad(s)) return take(s);
    if (!s.since && near(el)) s.since = now;
    if (s.placed || s.since && now - s.since >= config.wait) put(s, true);
  }

  function confirm(s, now) {
    if (s.placed && !s.counted && now - s.placed >= config.confirm && s.house.isConnected && shown(s.house)) {
      s.counted = 1;
      confirmed++;
    }
  }

  function tick() {
    try {
      var now = Date.now(), found = doc.querySelectorAll(config.selector);
      [].forEach.call(found, function (el) {
        if (!known.has(el) && !el.closest("." + C)) {
          known.set(el, 1);
          var before = new Set(el.querySelectorAll("*")); // the site's own content: a label, a placeholder
          slots.push({ el: el, parent: el.parentNode, next: el.nextSibling, before: before });
        }
      });
      slots.forEach(function (s) { look(s, now); confirm(s, now); });
      if (confirmed > sent) {
        fetch(config.seen, {
          method: "POST",
          credentials: "same-origin",
          keepalive: true,
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ path: location.pathname, slots: confirmed - sent }) // the view now shown
        }).catch(function () {});
        sent = confirmed;
      }
      if (now - started > config.life) clearInterval(timer);
    } catch (x) {
      clearInterval(timer); // a selector the browser refuses, say: the page stays as it is
    }
  }

  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(config.css);
    doc.adoptedStyleSheets = doc.adoptedStyleSheets.concat(sheet);
    timer = setInterval(tick, config.every);
    tick();
  } catch (x) { /* never into the page */ }
})(__CONFIG__);
