/* Lifecycle site tracking, served at /t/s.js (contacts/views/tracking.py; docs/tracking.md).
 *
 * <script async src="https://crm.example.com/t/s.js" data-lifecycle></script>
 *   data-wait-for-consent   send nothing until the site calls lifecycle('consent')
 * API: lifecycle('consent'), lifecycle('identify', email), lifecycle.identify(email), lifecycle.consent().
 * Calls made before the script loads can be queued: window.lifecycle.q = [["identify", "a@b.c"]].
 */
(function () {
  "use strict";
  var config = { honourDoNotTrack: __LC_HONOUR_DNT__, waitForConsent: __LC_WAIT_FOR_CONSENT__ };
  var me = document.currentScript || document.querySelector("script[data-lifecycle]");
  if (!me || !me.src) return;
  var endpoint = new URL("collect", me.src).href;
  var COOKIE = "lc_vid";
  var KEY = /^[A-Za-z0-9_-]{32,64}$/;
  var waitAttr = me.getAttribute("data-wait-for-consent");
  var waiting = waitAttr === null ? config.waitForConsent : waitAttr !== "false";
  var dnt = navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  var off = config.honourDoNotTrack && dnt;
  var pending = [];
  var chain = Promise.resolve();

  function readKey() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(COOKIE + "=") === 0) {
        var value = parts[i].slice(COOKIE.length + 1);
        return KEY.test(value) ? value : "";
      }
    }
    return "";
  }

  function writeKey(value) {
    if (!KEY.test(value)) return;
    document.cookie = COOKIE + "=" + value + "; path=/; max-age=31536000; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }

  function send(payload) {
    chain = chain.then(function () {
      payload.vid = readKey();
      return fetch(endpoint, {
        method: "POST", mode: "cors", credentials: "omit", keepalive: true,
        headers: { "Content-Type": "text/plain" }, body: JSON.stringify(payload)
      }).then(function (response) {
        return response.status === 200 ? response.json() : null;
      }).then(function (data) {
        if (data && data.vid) writeKey(data.vid);
      }).catch(function () { /* tracking never breaks the page */ });
    });
    return chain;
  }

  function run(payload) {
    if (off) return Promise.resolve();
    if (waiting) { pending.push(payload); return Promise.resolve(); }
    return send(payload);
  }

  function page() {
    return run({ type: "page", url: location.href, title: document.title, referrer: document.referrer });
  }

  function lifecycle(command, argument) {
    if (command === "consent") {
      waiting = false;
      var queued = pending;
      pending = [];
      queued.forEach(send);
      return chain;
    }
    if (command === "identify") return run({ type: "identify", email: String(argument || "") });
    if (command === "page") return page();
    return Promise.resolve();
  }
  lifecycle.identify = function (email) { return lifecycle("identify", email); };
  lifecycle.consent = function () { return lifecycle("consent"); };
  lifecycle.page = page;

  var queue = window.lifecycle && window.lifecycle.q;
  window.lifecycle = lifecycle;
  page();
  if (queue && queue.length) {
    for (var i = 0; i < queue.length; i++) lifecycle(queue[i][0], queue[i][1]);
  }
})();
