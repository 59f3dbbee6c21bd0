// Warn before the server-side idle timeout signs the user out (HIPAA automatic logoff).
(function () {
  "use strict";
  var minutes = parseFloat(document.body.getAttribute("data-idle-minutes") || "0");
  if (!minutes) { return; }
  var warnAfterMs = Math.max(minutes - 2, minutes * 0.8) * 60 * 1000;
  var banner = document.getElementById("idle-warning");
  var timer = null;
  function arm() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { banner.hidden = false; }, warnAfterMs);
  }
  document.getElementById("idle-stay").addEventListener("click", function () {
    fetch(window.location.href, { credentials: "same-origin" }).then(function () {
      banner.hidden = true; arm();
    });
  });
  arm();
})();

// Questions that apply only after some answers (the risk assessment): an element with
// data-show-when='{"safeguard": ["encryption"]}' is shown only while that select has one of
// those values. The server clears answers to hidden questions when the form is saved.
(function () {
  "use strict";
  var dependent = document.querySelectorAll("[data-show-when]");
  if (!dependent.length) { return; }
  function update() {
    dependent.forEach(function (el) {
      var rule = JSON.parse(el.getAttribute("data-show-when"));
      el.hidden = !Object.keys(rule).every(function (name) {
        var control = document.querySelector('[name="' + name + '"]');
        var holder = control && control.closest("[data-show-when]");
        return control && !(holder && holder.hidden) && rule[name].indexOf(control.value) !== -1;
      });
    });
  }
  document.addEventListener("change", update);
  update();
})();
