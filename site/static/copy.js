// Copy and Print buttons for caddy-mfa's pages. The buttons are hidden until this script shows
// them, so a browser without JavaScript shows nothing that does nothing. A button copies the
// text of the element its data-copy names, or its data-copy-value; data-status names the
// role=status element that says "Copied" to everyone, screen readers included.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain HTTP: the old way, through a selected, off-screen text area.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) resolve(); else reject(new Error("copy refused"));
    });
  }

  function say(button, text) {
    var status = document.getElementById(button.dataset.status || "");
    if (!status) return;
    status.textContent = text;
    clearTimeout(button.copiedTimer);
    button.copiedTimer = setTimeout(function () { status.textContent = ""; }, 4000);
  }

  document.querySelectorAll("button[data-copy], button[data-copy-value]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var from = button.dataset.copy ? document.querySelector(button.dataset.copy) : null;
      var text = from ? from.textContent.trim() : button.dataset.copyValue;
      copyText(text).then(function () { say(button, "Copied"); },
        function () { say(button, "Could not copy: select the text and copy it yourself."); });
    });
  });

  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
