// Settings | Reminders: refresh the email's preview while the admin types. Without
// JavaScript the form's "Preview" button does the same through a full page.
(function () {
  "use strict";
  var form = document.getElementById("reminder-email-form");
  var frame = document.getElementById("reminder-preview");
  var status = document.getElementById("preview-status");
  if (!frame) {
    return;
  }

  // The frame takes the email's height, so a phone shows it whole in the page's own
  // scroll instead of a second scroll box that cuts it off. Reading its height needs
  // allow-same-origin; the frame still runs no script (no allow-scripts).
  function fit() {
    var body = frame.contentDocument && frame.contentDocument.body;
    if (body) {
      frame.style.height = Math.ceil(body.getBoundingClientRect().height) + 2 + "px";
    }
  }
  frame.addEventListener("load", fit);
  window.addEventListener("resize", fit);
  fit();

  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var timer = null;
  var latest = 0;

  function refresh() {
    var ask = ++latest;
    var data = new FormData(form);
    data.delete("action");
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (ask !== latest) {
          return; // a newer preview is on its way
        }
        if (response.ok) {
          return response.text().then(function (html) {
            frame.srcdoc = html;
            status.textContent = "Preview updated.";
          });
        }
        if (response.status === 400) {
          return response.json().then(function (body) {
            var problems = [];
            Object.keys(body.errors || {}).forEach(function (name) {
              problems = problems.concat(body.errors[name]);
            });
            status.textContent = "Preview not updated: " + problems.join(" ");
          });
        }
        status.textContent = "Preview not updated (error " + response.status + ").";
      })
      .catch(function () {
        status.textContent = "Preview not updated: the server could not be reached.";
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
