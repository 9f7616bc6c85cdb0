/*
 * The contact page (templates/contacts/contact_detail.html). htmx does the requests; this file adds:
 * - a refused input comes back as 422 with the form and its messages: swap it in like a success
 *   (htmx does not swap 4xx by default, and app.js would toast it as a failure);
 * - Escape in an inline field's form presses its Cancel;
 * - Ctrl+Enter (or Cmd+Enter) in the note box submits the note.
 */
(function () {
  "use strict";

  var PANELS = "[data-inline-field], [data-page-panel]";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var target = event.detail.target;
    if (xhr && xhr.status === 422 && target && target.closest && target.closest(PANELS)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.closest) {
      return;
    }
    if (event.key === "Escape") {
      var form = target.closest(".inline-field-form");
      var cancel = form && form.querySelector("[data-inline-cancel]");
      if (cancel) {
        event.preventDefault();
        cancel.click();
      }
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var noteForm = target.closest("[data-note-form]");
      if (noteForm && target.tagName === "TEXTAREA") {
        event.preventDefault();
        noteForm.requestSubmit();
      }
    }
  });
})();
