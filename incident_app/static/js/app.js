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
