/*
 * Contact imports: the progress bar's width. The CSP forbids style="" attributes, so the server
 * renders the percentage as data-percent and this sets the width, on load and after every htmx
 * swap of the polled progress fragment (templates/contacts/import_detail.html).
 */
(function () {
  "use strict";

  function sizeBars(root) {
    (root || document).querySelectorAll(".import-progress .progress-bar[data-percent]").forEach(function (bar) {
      var percent = Math.max(0, Math.min(100, parseInt(bar.dataset.percent, 10) || 0));
      bar.style.width = percent + "%";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    sizeBars(document);
  });
  // An outerHTML swap replaces the element the event names, so look at the whole page: it has one bar.
  document.addEventListener("htmx:afterSwap", function () {
    sizeBars(document);
  });
})();
