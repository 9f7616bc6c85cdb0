/*
 * Lifecycle's page behaviour. Loaded on every page, after htmx and Bootstrap.
 *
 * Toasts: Django messages rendered in the page (full page loads) and messages that arrive in
 * the HX-Trigger `messages` event (htmx requests, see lifecycle/middleware.py) both become
 * Bootstrap toasts; so does a failed htmx request. Escape cancels an inline edit form.
 * No inline scripts: the CSP forbids them.
 */
(function () {
  "use strict";

  var LEVELS = ["debug", "info", "success", "warning", "error"];
  var DELAY_MS = 6000;

  function container() {
    return document.getElementById("toasts");
  }

  function show(toast) {
    var level = toast.dataset.level;
    // Errors stay until dismissed so nobody misses them.
    var instance = bootstrap.Toast.getOrCreateInstance(toast, {
      autohide: level !== "error",
      delay: DELAY_MS,
    });
    toast.addEventListener("hidden.bs.toast", function () {
      toast.remove();
    });
    instance.show();
  }

  /** Show `message` as a toast; `level` is a Django message level tag. */
  function toast(level, message) {
    var template = document.getElementById("toast-template");
    var box = container();
    if (!template || !box || !message) {
      return null;
    }
    var level_ = LEVELS.indexOf(level) >= 0 ? level : "info";
    var element = template.content.firstElementChild.cloneNode(true);
    element.classList.add("toast-" + level_);
    element.dataset.level = level_;
    if (level_ === "error") {
      element.setAttribute("role", "alert");
      element.setAttribute("aria-live", "assertive");
    }
    // textContent, never innerHTML: messages may quote user input.
    element.querySelector("[data-toast-body]").textContent = String(message);
    box.appendChild(element);
    show(element);
    return element;
  }

  function showPageMessages() {
    var box = container();
    if (!box) {
      return;
    }
    box.querySelectorAll(".toast[data-level]").forEach(show);
  }

  // HX-Trigger: {"messages": [...]} reaches us as event.detail.value (htmx 2 wraps
  // non-object values); accept a bare array too.
  function onMessages(event) {
    var detail = event.detail || {};
    var items = Array.isArray(detail) ? detail : detail.value;
    if (!Array.isArray(items)) {
      return;
    }
    items.forEach(function (item) {
      toast(item.level, item.message);
    });
  }

  function onResponseError(event) {
    var xhr = event.detail && event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    var text;
    if (status === 403) {
      text = "You do not have permission to do that.";
    } else if (status === 404) {
      text = "That item no longer exists. Reload the page and try again.";
    } else if (status === 429) {
      text = "Too many requests. Wait a moment and try again.";
    } else if (status >= 500) {
      text = "Something went wrong on our side (error " + status + "). Please try again.";
    } else {
      text = "The request failed (error " + status + "). Please try again.";
    }
    toast("error", text);
  }

  function onSendError() {
    toast("error", "Could not reach the server. Check your connection and try again.");
  }

  // Escape in an inline edit form presses its Cancel ([data-inline-cancel], an hx-get link). htmx is
  // asked directly: right after a swap it may not have wired the new link yet, and a plain click
  // would only follow the link's #anchor.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) {
      return;
    }
    var form = event.target.closest("form");
    var cancel = form && form.querySelector("[data-inline-cancel][hx-get]");
    if (!cancel) {
      return;
    }
    event.preventDefault();
    htmx.ajax("GET", cancel.getAttribute("hx-get"), {
      source: cancel,
      target: cancel.getAttribute("hx-target") === "closest [data-inline-field]"
        ? cancel.closest("[data-inline-field]") : cancel.getAttribute("hx-target"),
      swap: cancel.getAttribute("hx-swap") || "outerHTML",
    });
  });

  // A "Copy" button copies the text of the element its data-copy selector names (an input, a textarea
  // or any element's text), then says so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var text = "value" in source ? source.value : source.textContent;
    function copied() {
      toast("success", "Copied to the clipboard.");
    }
    function fallback() {
      if (source.select) {
        source.select();
      }
      if (document.execCommand && document.execCommand("copy")) {
        copied();
      } else {
        toast("error", "Could not copy: select the text and press Ctrl+C.");
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, fallback);
    } else {
      fallback();
    }
  });

  document.addEventListener("messages", onMessages);
  document.addEventListener("htmx:responseError", onResponseError);
  document.addEventListener("htmx:sendError", onSendError);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showPageMessages);
  } else {
    showPageMessages();
  }

  window.Lifecycle = Object.assign(window.Lifecycle || {}, { toast: toast });
})();
