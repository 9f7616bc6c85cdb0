/*
 * The contact list (templates/contacts/contact_list.html). htmx does the requests; this file adds:
 * - "/" puts the keyboard in the search box (unless you are typing somewhere);
 * - selecting rows: the header checkbox selects the page, and the bulk bar announces the count (aria-live);
 * - the bulk bar shows only the input its action needs (tag, list, owner or stage);
 * - the "Add filter" row offers the comparisons and value input that fit the chosen custom field;
 * - filter requests leave out empty fields, so the URL pushed to the address bar stays short to share;
 * - the keyboard stays where it was when a swap replaces the control that was used.
 */
(function () {
  "use strict";

  function results() {
    return document.getElementById("contact-results");
  }

  // --- "/" to search --------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    var search = document.getElementById("contact-search");
    if (typing || !search) {
      return;
    }
    event.preventDefault();
    search.focus();
    search.select();
  });

  // --- Selecting rows ---------------------------------------------------------------------------
  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-select-row]"));
  }

  function updateSelection() {
    var boxes = rowBoxes();
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    var count = document.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = String(checked);
    }
    var all = document.querySelector("[data-select-page]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var bar = document.getElementById("bulk-form");
    if (bar) {
      bar.classList.toggle("has-selection", checked > 0);
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-page]")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
      updateSelection();
    } else if (target.matches("[data-select-row]")) {
      updateSelection();
      // Choosing rows means acting on them: switch the bar to "Selected" if it was on "All matching".
      var selected = document.getElementById("bulk-scope-selected");
      if (target.checked && selected) {
        selected.checked = true;
      }
    } else if (target.matches("[data-bulk-action]")) {
      showBulkParam();
    } else if (target.matches("[data-field-key]") || target.matches("[data-field-op]")) {
      fitFieldFilter(target.closest("[data-field-filter]"));
    }
  });

  // --- The bulk bar's parameter for the chosen action ---------------------------------------
  function showBulkParam() {
    var select = document.querySelector("[data-bulk-action]");
    if (!select) {
      return;
    }
    document.querySelectorAll("[data-bulk-param]").forEach(function (box) {
      var wanted = box.getAttribute("data-bulk-param").split(" ").indexOf(select.value) >= 0;
      // A field showing an error stays visible, so the message is never hidden.
      box.hidden = !wanted && !box.querySelector(".is-invalid");
    });
  }

  // --- The "Add filter" row -------------------------------------------------------------------
  function fitFieldFilter(row) {
    if (!row) {
      return;
    }
    var key = row.querySelector("[data-field-key]");
    var op = row.querySelector("[data-field-op]");
    var value = row.querySelector("[data-field-value]");
    var option = key.options[key.selectedIndex];
    var type = option ? option.getAttribute("data-type") || "" : "";
    var rangeTypes = (row.querySelector("[data-range-types]") || {dataset: {}}).dataset.rangeTypes || "";
    var isRange = rangeTypes.split(" ").indexOf(type) >= 0;
    Array.prototype.forEach.call(op.options, function (choice) {
      var only = choice.getAttribute("data-for");
      choice.hidden = choice.disabled = only === "range" && !isRange;
    });
    if (op.selectedOptions[0] && op.selectedOptions[0].disabled) {
      op.value = "";
    }
    value.type = {number: "number", money: "number", date: "date"}[type] || "text";
    value.step = type === "money" ? "0.01" : "any";
    value.hidden = op.value === "isnull" || op.value === "notnull";
    var list = document.getElementById("field-value-options");
    if (list) {
      list.replaceChildren();
      var choices = type === "boolean" ? "true|false" : option ? option.getAttribute("data-choices") || "" : "";
      choices.split("|").filter(Boolean).forEach(function (text) {
        var item = document.createElement("option");
        item.value = text;
        list.appendChild(item);
      });
    }
  }

  // --- Requests and swaps -------------------------------------------------------------------------
  var lastTriggerId = null;

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    lastTriggerId = elt && elt.matches && elt.matches("[data-field-add]") ? "filter-field-key" : elt && elt.id ? elt.id : null;
    if (!elt || !elt.closest || !elt.closest("#contact-filters") || event.detail.verb !== "get") {
      return;
    }
    var data = event.detail.formData;
    if (!data || typeof data.keys !== "function") {
      return;
    }
    // The "Add filter" row only counts when its button asked.
    if (!elt.matches("[data-field-add]")) {
      ["cf_key", "cf_op", "cf_value"].forEach(function (name) { data.delete(name); });
    }
    var names = [];
    data.forEach(function (_value, name) {
      if (names.indexOf(name) < 0) {
        names.push(name);
      }
    });
    names.forEach(function (name) {
      var values = data.getAll(name).filter(function (value) { return String(value).trim() !== ""; });
      data.delete(name);
      values.forEach(function (value) { data.append(name, value); });
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    updateSelection();
    showBulkParam();
    document.querySelectorAll("[data-field-filter]").forEach(fitFieldFilter);
    var active = document.activeElement;
    if (active && active !== document.body) {
      return;
    }
    // The control used was replaced: put the keyboard back on its successor, or on the results.
    var again = lastTriggerId && document.getElementById(lastTriggerId);
    if (lastTriggerId === "contact-search" || (again && again.matches("input, select, button"))) {
      again.focus();
    } else if (document.getElementById("contact-results-summary")) {
      document.getElementById("contact-results-summary").focus();
    }
  });

  function init() {
    updateSelection();
    showBulkParam();
    document.querySelectorAll("[data-field-filter]").forEach(fitFieldFilter);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
