// A Copy button beside a secret shown once (data-copy="<id of the element to copy>").
// The buttons start hidden: without JavaScript the text stays selectable to copy by hand.
(function () {
  "use strict";
  function say(button, text) {
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (status) status.textContent = text;
  }
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text)
        : Promise.reject(new Error("no clipboard"));
      copied
        .then(function () {
          say(button, "Copied.");
        })
        .catch(function () {
          // Older or insecure pages: select it so Ctrl+C (or Cmd+C) copies it.
          selectText(source);
          say(button, "Selected: press Ctrl+C (or Cmd+C) to copy.");
        });
    });
  });
})();
