// Live updates: every element with data-live="URL" is replaced by the element of the same id in a fresh
// copy of URL, every few seconds, while the page is visible; elements that name the same URL share one fetch.
// No framework, no build step.
(function () {
  "use strict";
  var PERIOD_MS = 5000;
  function busy(element) {
    return element.contains(document.activeElement) && document.activeElement !== document.body;
  }
  function refresh() {
    if (document.hidden) { return; }
    var byUrl = {};
    document.querySelectorAll("[data-live]").forEach(function (element) {
      if (busy(element)) { return; }
      var url = element.getAttribute("data-live");
      (byUrl[url] = byUrl[url] || []).push(element);
    });
    Object.keys(byUrl).forEach(function (url) {
      fetch(url, { credentials: "same-origin", headers: { "X-Monitor-Live": "1" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html");
          byUrl[url].forEach(function (element) {
            var update = fresh.getElementById(element.id);
            if (update !== null && update.innerHTML !== element.innerHTML) {
              element.innerHTML = update.innerHTML;
              element.setAttribute("data-updated", new Date().toISOString());
            }
          });
        })
        .catch(function () { /* the next round tries again */ });
    });
  }
  window.setInterval(refresh, PERIOD_MS);
})();
