/*
 * The deal page, the deal side panel and the deal list (templates/pipelines/deal_*.html). htmx does the
 * requests; this file adds:
 * - Ctrl+Enter (or Cmd+Enter) in a note box or a long inline field saves it;
 * - Escape closes the deal side panel (when no inline edit is open: app.js's Escape cancels those first);
 * - the list: "/" to search, the header checkbox selects the page, the bulk bar counts the selection and
 *   shows only the input its action needs; filter requests leave empty fields out of the URL.
 * Safe to load more than once (the board may load it for the panel).
 */
(function () {
  "use strict";

  if (window.LifecycleDeals) {
    return;
  }
  window.LifecycleDeals = true;

  function typingIn(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.closest) {
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.tagName === "TEXTAREA") {
      var form = target.closest("[data-note-form], .inline-field-form");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (event.key === "Escape" && !event.defaultPrevented) {
      // An open inline form or the lost form is app.js's to cancel.
      if (target.closest("form") && target.closest("form").querySelector("[data-inline-cancel]")) {
        return;
      }
      var close = document.querySelector("#deal-panel [data-deal-panel-close]");
      if (close) {
        event.preventDefault();
        close.click();
      }
      return;
    }
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingIn(target)) {
      var search = document.getElementById("deal-search");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    }
  });

  // --- The list: selecting rows and the bulk bar ---------------------------------------------------
  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#deal-results [data-select-row]"));
  }

  function updateSelection() {
    var boxes = rowBoxes();
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    var count = document.querySelector("#deal-results [data-bulk-count]");
    if (count) {
      count.textContent = String(checked);
    }
    var all = document.querySelector("#deal-results [data-select-page]");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var bar = document.getElementById("deal-bulk-form");
    if (bar) {
      bar.classList.toggle("has-selection", checked > 0);
    }
  }

  function showBulkParam() {
    var select = document.querySelector("#deal-bulk-form [data-bulk-action]");
    if (!select) {
      return;
    }
    document.querySelectorAll("#deal-bulk-form [data-bulk-param]").forEach(function (box) {
      var wanted = box.getAttribute("data-bulk-param") === select.value;
      // A field showing an error stays visible, so the message is never hidden.
      box.hidden = !wanted && !box.querySelector(".is-invalid");
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#deal-results")) {
      return;
    }
    if (target.matches("[data-select-page]")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
      updateSelection();
    } else if (target.matches("[data-select-row]")) {
      updateSelection();
    } else if (target.matches("[data-bulk-action]")) {
      showBulkParam();
    }
  });

  // The filter form sends only the fields that have a value: the URL pushed to the address bar stays short.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.matches || !elt.matches("[data-deal-filters]") || event.detail.verb !== "get") {
      return;
    }
    var data = event.detail.formData;
    if (!data || typeof data.keys !== "function") {
      return;
    }
    var names = [];
    data.forEach(function (_value, name) {
      if (names.indexOf(name) < 0) {
        names.push(name);
      }
    });
    names.forEach(function (name) {
      // An empty owner stays: it means everyone (without it, a rep sees their own deals).
      var values = data.getAll(name).filter(function (value) { return name === "owner" || String(value).trim() !== ""; });
      data.delete(name);
      values.forEach(function (value) { data.append(name, value); });
    });
  });

  function refresh() {
    updateSelection();
    showBulkParam();
  }

  document.addEventListener("htmx:afterSettle", refresh);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refresh);
  } else {
    refresh();
  }
})();
