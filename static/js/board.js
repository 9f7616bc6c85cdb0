/*
 * The pipeline board (templates/pipelines/board.html). The server renders everything; this file adds:
 * - drag and drop of cards between and within columns (Sortable.js). The card moves at once; the move is
 *   POSTed (stage, position) and the answer updates the card and both column headers. If the server refuses,
 *   a 422 brings both columns back as they are in the database (with a toast); a 403/404 or a network error
 *   re-renders them from the server here (app.js shows the toast);
 * - the "Move to…" menu of each card, the keyboard path: it moves the card to the end of another stage;
 * - a drop names the card it landed after (or before): on a filtered board the server knows where the
 *   hidden cards are, the page does not;
 * - "Load more" pages on from the last card the server sent; a card that comes again (it moved there
 *   meanwhile) replaces the copy shown before;
 * - the deal side panel (#deal-panel): shown when a deal is loaded into it, Escape closes it, a click
 *   anywhere on a card opens it;
 * - filter selects and checkboxes apply at once.
 * No inline scripts or styles: the CSP forbids them.
 */
(function () {
  "use strict";

  var lastDragEnd = 0;

  function boardArea() {
    return document.getElementById("board-columns");
  }

  function canMove() {
    var area = boardArea();
    return Boolean(area && area.hasAttribute("data-can-move"));
  }

  function withFilters(url) {
    var area = boardArea();
    var query = area ? area.dataset.filterQuery : "";
    return query ? url + (url.indexOf("?") >= 0 ? "&" : "?") + query : url;
  }

  function sibling(card, direction) {
    var el = card[direction];
    while (el && !el.classList.contains("board-card")) {
      el = el[direction];
    }
    return el;
  }

  // --- Moving ------------------------------------------------------------------------------------------

  function refreshColumn(stageId) {
    var column = document.getElementById("column-" + stageId);
    if (column && column.dataset.columnUrl) {
      return htmx.ajax("GET", column.dataset.columnUrl, { source: column, target: column, swap: "outerHTML" });
    }
    return Promise.resolve();
  }

  /** POST the move; `values` has the stage and where in it (nothing: the card goes last). */
  function sendMove(card, values, stages) {
    card.classList.add("board-card-saving");
    card.setAttribute("aria-busy", "true");
    card.dataset.refresh = stages.join(" ");
    return htmx.ajax("POST", withFilters(card.dataset.moveUrl), {
      source: card, target: card, swap: "outerHTML", values: values,
    }).then(function () {
      card.classList.remove("board-card-saving");
      card.removeAttribute("aria-busy");
    });
  }

  // A refused move that htmx does not swap (403, 404, 5xx, no connection): put the columns back.
  function onMoveFailed(event) {
    var card = event.detail && event.detail.elt;
    if (!card || !card.classList || !card.classList.contains("board-card") || !card.dataset.refresh) {
      return;
    }
    var stages = card.dataset.refresh.split(" ");
    delete card.dataset.refresh;
    stages.forEach(refreshColumn);
  }

  // The drop names the card it landed after (or before, at the top): on a filtered board hidden cards sit
  // between the visible ones, and the server knows where they are.
  function onDrop(event) {
    lastDragEnd = Date.now();
    var card = event.item;
    var from = event.from;
    var to = event.to;
    if (from === to && event.oldIndex === event.newIndex) {
      return;
    }
    var values = { stage: to.dataset.stage };
    var previous = sibling(card, "previousElementSibling");
    var next = sibling(card, "nextElementSibling");
    if (previous) {
      values.after = previous.dataset.deal;
    } else if (next) {
      values.before = next.dataset.deal;
    } else {
      values.position = 0;
    }
    var stages = from === to ? [from.dataset.stage] : [from.dataset.stage, to.dataset.stage];
    sendMove(card, values, stages);
  }

  function initSortables(root) {
    if (!canMove() || typeof Sortable === "undefined" || !root || !root.querySelectorAll) {
      return;
    }
    var lists = Array.prototype.slice.call(root.querySelectorAll("[data-cards]"));
    if (root.matches && root.matches("[data-cards]")) {
      lists.push(root);
    }
    lists.forEach(function (list) {
      if (Sortable.get(list)) {
        return;
      }
      Sortable.create(list, {
        group: "deals",
        draggable: ".board-card",
        filter: "[data-no-drag], input, textarea, select",
        preventOnFilter: false,
        // Mouse events rather than HTML5 drag and drop: the same in every browser, and scriptable in tests.
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 150,
        ghostClass: "board-card-ghost",
        dragClass: "board-card-drag",
        onStart: function () {
          document.body.classList.add("board-dragging");
        },
        onEnd: function (event) {
          document.body.classList.remove("board-dragging");
          onDrop(event);
        },
      });
    });
  }

  // --- "Move to…" ------------------------------------------------------------------------------------------

  document.addEventListener("show.bs.dropdown", function (event) {
    var toggle = event.target;
    if (!toggle.matches || !toggle.matches("[data-move-toggle]")) {
      return;
    }
    var menu = toggle.parentElement.querySelector("[data-move-menu]");
    var template = document.getElementById("move-stages");
    var card = toggle.closest(".board-card");
    if (!menu || !template || !card) {
      return;
    }
    menu.replaceChildren(template.content.cloneNode(true));
    menu.querySelectorAll("[data-move-to]").forEach(function (item) {
      if (item.dataset.moveTo === card.dataset.stage) {
        item.disabled = true;
        item.setAttribute("aria-current", "true");
        item.append(" (here)");
      }
    });
  });

  function moveToEnd(card, stageId) {
    var from = card.parentElement;
    var to = document.getElementById("cards-" + stageId);
    var stages = [from.dataset.stage, stageId];
    if (to) {
      card.dataset.stage = stageId;
      to.appendChild(card);
    }
    sendMove(card, { stage: stageId, via: "menu" }, stages).then(function () {
      // The card was replaced by the server's copy: give the keyboard back to it.
      var moved = document.getElementById(card.id);
      var link = moved && moved.querySelector("[data-panel-link]");
      if (link) {
        link.focus();
      } else {
        var heading = document.getElementById("column-title-" + stageId);
        if (heading) {
          heading.focus();
        }
      }
    });
  }

  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest("[data-move-to]");
    if (!item || item.disabled) {
      return;
    }
    var card = item.closest(".board-card");
    if (card) {
      event.preventDefault();
      var toggle = card.querySelector("[data-move-toggle]");
      if (toggle && window.bootstrap) {
        bootstrap.Dropdown.getOrCreateInstance(toggle).hide();
      }
      moveToEnd(card, item.dataset.moveTo);
    }
  });

  // --- Load more -------------------------------------------------------------------------------------------

  // A card loaded again (it moved while the page was open) replaces the copy shown before.
  function dropDuplicates(root) {
    if (!root.querySelectorAll) {
      return;
    }
    var fresh = root.classList && root.classList.contains("board-card") ? [root] : [];
    fresh = fresh.concat(Array.prototype.slice.call(root.querySelectorAll(".board-card")));
    fresh.forEach(function (card) {
      document.querySelectorAll('.board-card[data-deal="' + card.dataset.deal + '"]').forEach(function (other) {
        if (other !== card && !root.contains(other)) {
          other.remove();
        }
      });
    });
  }

  // --- The side panel --------------------------------------------------------------------------------------

  var panelOpener = null;

  function panel() {
    return document.getElementById("deal-panel");
  }

  function closePanel() {
    var box = panel();
    if (!box || !box.firstChild) {
      return;
    }
    box.replaceChildren();
    if (panelOpener && document.body.contains(panelOpener)) {
      panelOpener.focus();
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-panel-link]")) {
      panelOpener = elt;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = panel();
    if (box && event.detail.target === box && box.firstChild) {
      var heading = box.querySelector("h1, h2, h3");
      (heading || box).setAttribute("tabindex", "-1");
      (heading || box).focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    // app.js handles Escape first (cancelling an inline edit); only an unhandled Escape closes the panel.
    if (event.key !== "Escape" || event.defaultPrevented) {
      return;
    }
    var box = panel();
    if (box && box.firstChild && (box.contains(event.target) || event.target === document.body)) {
      if (document.querySelector(".dropdown-menu.show, .modal.show")) {
        return;
      }
      event.preventDefault();
      closePanel();
    }
  });

  // A click anywhere on a card (but its controls) opens it, as its title link does; not the click that
  // ends a drag.
  document.addEventListener("click", function (event) {
    if (Date.now() - lastDragEnd < 300 && event.target.closest && event.target.closest(".board-card")) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
  }, true);

  document.addEventListener("click", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card || event.defaultPrevented || event.target.closest("a, button, input, select, textarea, .dropdown")) {
      return;
    }
    var link = card.querySelector("[data-panel-link]");
    if (link) {
      link.click();
    }
  });

  // --- Filters ------------------------------------------------------------------------------------------

  document.addEventListener("change", function (event) {
    var control = event.target;
    if (control.matches && control.matches("[data-auto-submit]") && control.form) {
      control.form.requestSubmit();
    }
  });

  // --- Wiring -------------------------------------------------------------------------------------------

  document.addEventListener("htmx:responseError", onMoveFailed);
  document.addEventListener("htmx:sendError", onMoveFailed);
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    initSortables(elt);
    if (elt.closest && elt.closest("[data-cards]")) {
      dropDuplicates(elt);
    }
  });

  function start() {
    initSortables(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
