/*
 * The contact page (templates/contacts/contact_detail.html). htmx does the requests; this file adds:
 * - Ctrl+Enter (or Cmd+Enter) in the note box submits the note.
 */
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.closest) {
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
