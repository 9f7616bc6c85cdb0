/* Lifecycle lead form embed (served at /f/<key>/embed.js; contacts/views/leadforms_public.py).
   Fetches the rendered form, inserts it after this script tag (or into #data-target), posts it with fetch(),
   shows field errors inline and the success message (or goes to the form's allowed redirect). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var src = script.src.split("?")[0];
  var base = src.replace(/embed\.js$/, "");
  var doc = document;

  function cookie(name) {
    var match = doc.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function hideHoneypot(root) {
    var hp = root.querySelectorAll(".lc-hp");
    for (var i = 0; i < hp.length; i++) {
      hp[i].style.position = "absolute"; hp[i].style.left = "-10000px";
      hp[i].style.width = "1px"; hp[i].style.height = "1px"; hp[i].style.overflow = "hidden";
    }
  }

  function showErrors(form, errors) {
    var boxes = form.querySelectorAll("[data-lc-errors]");
    for (var i = 0; i < boxes.length; i++) { boxes[i].textContent = ""; }
    Object.keys(errors || {}).forEach(function (name) {
      var box = form.querySelector('[data-lc-errors="' + (window.CSS && CSS.escape ? CSS.escape(name) : name) + '"]') ||
        form.querySelector('[data-lc-errors="__all__"]');
      (errors[name] || []).forEach(function (message) {
        var p = doc.createElement("p"); p.className = "lc-error"; p.textContent = String(message); box.appendChild(p);
      });
    });
  }

  fetch(base + "embed/", {credentials: "omit"}).then(function (r) {
    if (!r.ok) { throw new Error("form unavailable"); }
    return r.json();
  }).then(function (data) {
    var form = doc.createElement("form");
    form.className = "lc-form";
    form.method = "post";
    form.action = data.action;
    form.noValidate = true;
    form.innerHTML = data.html; // our own server's escaped markup
    hideHoneypot(form);
    var target = script.getAttribute("data-target") && doc.getElementById(script.getAttribute("data-target"));
    if (target) { target.appendChild(form); } else { script.parentNode.insertBefore(form, script.nextSibling); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector(".lc-submit");
      if (button) { button.disabled = true; }
      var body = new URLSearchParams(new FormData(form));
      body.set("lc_page", String(window.location.href).slice(0, 2000));
      var vid = cookie("lc_vid");
      if (vid) { body.set("lc_vid", vid); }
      fetch(data.action, {method: "POST", body: body, credentials: "omit", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json().catch(function () { return {errors: {__all__: ["Please try again."]}}; }); })
        .then(function (answer) {
          if (button) { button.disabled = false; }
          if (answer.ok) {
            if (answer.redirect) { window.location.assign(answer.redirect); return; }
            var done = doc.createElement("div");
            done.className = "lc-success"; done.setAttribute("role", "status"); done.textContent = answer.message;
            form.parentNode.replaceChild(done, form);
          } else {
            showErrors(form, answer.errors);
          }
        })
        .catch(function () {
          if (button) { button.disabled = false; }
          showErrors(form, {__all__: ["Could not send the form. Please try again."]});
        });
    });
  }).catch(function () { /* the form is inactive or this site is not allowed: show nothing */ });
})();
