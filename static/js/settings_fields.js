/*
 * Settings → Custom fields, the create and edit form: the "Options" box only matters for single and
 * multiple choice fields, so it is shown only when one of those types is chosen. Without JavaScript
 * it is always shown, with a hint that says when it applies.
 */
(function () {
  "use strict";

  var CHOICE_TYPES = ["choice", "multi_choice"];

  function init() {
    var type = document.querySelector("[data-field-type]");
    var options = document.querySelector("[data-field-options]");
    if (!type || !options) {
      return;
    }
    var row = options.closest("[data-form-row]") || options;
    function update() {
      row.hidden = CHOICE_TYPES.indexOf(type.value) < 0;
    }
    type.addEventListener("change", function () {
      update();
      if (!row.hidden && !options.value) {
        options.focus();
      }
    });
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
