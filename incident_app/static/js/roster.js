// Roster import progress: polls the JSON endpoint named by data-progress-url while the import
// is queued or running, updates the bar and the counters, and reloads the page when it ends.
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

  function render(p) {
    if (bar) { bar.value = p.percent; }
    show("status_label", p.status_label);
    ["rows_read", "accepted", "rejected", "merged"].forEach(function (k) {
      show(k, number.format(p[k]));
    });
    show("rate", p.rows_per_second ? "(" + number.format(p.rows_per_second) + " rows/s)" : "");
    show("eta", p.eta_seconds !== null ? "about " + p.eta_seconds + " s left" : "");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        render(p);
        if (p.done) { window.location.reload(); } else { window.setTimeout(poll, 1500); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
