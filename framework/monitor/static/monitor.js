// Live updates: every element with data-live="URL" is replaced by the element of the same id in a fresh
// copy of URL, every few seconds, while the page is visible. No framework, no build step.
(function () {
  "use strict";
  var PERIOD_MS = 5000;
  function refresh() {
    if (document.hidden) { return; }
    document.querySelectorAll("[data-live]").forEach(function (element) {
      if (element.contains(document.activeElement) && document.activeElement !== document.body) { return; }
      fetch(element.getAttribute("data-live"), { credentials: "same-origin", headers: { "X-Monitor-Live": "1" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(element.id);
          if (fresh !== null && fresh.innerHTML !== element.innerHTML) {
            element.innerHTML = fresh.innerHTML;
            element.setAttribute("data-updated", new Date().toISOString());
          }
        })
        .catch(function () { /* the next round tries again */ });
    });
  }
  window.setInterval(refresh, PERIOD_MS);
})();
