/*
 * The Daily Lantern's reader app: switches stories in place with history.pushState, as a single-page app's
 * router does (no framework). Knows nothing of adguard_mw: the middleware notices the route changes itself.
 */
(function () {
  "use strict";
  var stories = JSON.parse(document.getElementById("app-data").textContent);
  var story = document.getElementById("app-story");

  function el(tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function render(slug) {
    var item = stories[slug];
    if (!item) return false;
    story.replaceChildren(el("h1", item.title), el("p", item.dek, "dek"), el("p", "By " + item.author, "byline"));
    item.paragraphs.forEach(function (text) { story.appendChild(el("p", text)); });
    document.title = item.title + " \u2014 The Daily Lantern app";
    document.querySelectorAll("[data-app-link]").forEach(function (link) {
      if (link.pathname === "/app/" + slug) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-app-link]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var slug = link.pathname.slice("/app/".length);
    if (!render(slug)) return;
    event.preventDefault();
    history.pushState({ slug: slug }, "", link.pathname);
    window.scrollTo(0, 0);
  });

  window.addEventListener("popstate", function () {
    render(location.pathname.slice("/app/".length));
  });
})();
