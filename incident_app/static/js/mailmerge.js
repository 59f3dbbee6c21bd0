// Mailing progress: polls the JSON endpoint named by data-progress-url while the mailing is
// queued or running, updates the bar and the counters, and reloads the page when it stops
// (so chunk downloads, failed letters and the buttons match the new state).
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || box.getAttribute("data-active") !== "true") { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var number = new Intl.NumberFormat();

  function show(name, text) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
      el.textContent = text;
    });
  }

  function eta(seconds) {
    if (seconds === null) { return ""; }
    if (seconds < 90) { return "about " + seconds + " s left"; }
    return "about " + Math.round(seconds / 60) + " min left";
  }

  function render(p) {
    if (bar) { bar.value = p.percent; }
    show("status_label", p.status_label);
    ["done", "failed", "total"].forEach(function (k) { show(k, number.format(p[k])); });
    show("rate", p.rate ? "(" + p.rate.toFixed(1) + " letters/s)" : "");
    show("eta", eta(p.eta_seconds));
    show("message", p.message);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        render(p);
        if (!p.active) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
