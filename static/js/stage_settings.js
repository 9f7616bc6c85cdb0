/*
 * Settings → Lifecycle stages. htmx does the requests; this file adds two things:
 * - a form with errors comes back as 422 and is swapped in like a success, so the messages show by the
 *   fields (htmx does not swap 4xx responses by default, and app.js would toast them as failures);
 * - Esc in an inline edit form cancels it, like the Cancel button.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var target = event.detail.target;
    if (xhr && xhr.status === 422 && target && target.closest(".stage-set, .stage-row")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var form = event.target.closest && event.target.closest(".stage-edit-form");
    var cancel = form && form.querySelector("[data-stage-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
})();
