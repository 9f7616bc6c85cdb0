/*
 * Settings → Lifecycle stages. htmx does the requests (a 422 form with errors is swapped in, see
 * base.html's htmx-config); this file makes Esc in an inline edit form cancel it, like the Cancel button.
 */
(function () {
  "use strict";

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
