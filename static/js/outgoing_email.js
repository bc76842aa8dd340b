// Settings | Email | Outgoing emails: show only what the chosen server needs, and fill
// a provider's server, port and encryption. Without JavaScript every field shows and the
// form posts the same fields.
(function () {
  "use strict";
  var form = document.getElementById("outgoing-form");
  if (!form) return;
  var provider = document.getElementById("provider");
  var fromLabel = document.getElementById("from-email-label");
  var fromInput = document.getElementById("id_from_email");
  var replyTo = document.getElementById("gateway-reply-to");

  function chosenServer() {
    var checked = form.querySelector('input[name="use_server"]:checked');
    return checked ? checked.value : "gateway";
  }

  function showFor(server) {
    // The form's parts, and cards beside it that matter to one server only (#egress).
    document.querySelectorAll("[data-shown-for]").forEach(function (element) {
      var shown = element.getAttribute("data-shown-for").split(" ").indexOf(server) >= 0;
      element.hidden = !shown;
      // Hidden SMTP fields still post (the form's contract), but cannot be focused.
      element.querySelectorAll("input, select").forEach(function (input) {
        if (input.id !== "provider") input.tabIndex = shown ? 0 : -1;
      });
    });
    form.querySelectorAll("[data-noscript-only]").forEach(function (element) {
      element.hidden = true;
    });
    fromLabel.firstChild.nodeValue =
      (server === "gateway" ? fromLabel.dataset.labelGateway : fromLabel.dataset.labelSmtp) + " ";
  }

  function showSteps() {
    document.querySelectorAll(".provider-steps").forEach(function (steps) {
      steps.hidden = steps.getAttribute("data-provider") !== provider.value;
    });
  }

  function guessProvider() {
    var host = (document.getElementById("id_host").value || "").trim().toLowerCase();
    for (var i = 0; i < provider.options.length; i++) {
      if (provider.options[i].dataset.host === host) {
        provider.value = provider.options[i].value;
        return;
      }
    }
    provider.value = "other";
  }

  provider.addEventListener("change", function () {
    var option = provider.options[provider.selectedIndex];
    if (option.dataset.host) {
      document.getElementById("id_host").value = option.dataset.host;
      document.getElementById("id_port").value = option.dataset.port;
      document.getElementById("id_encryption").value = option.dataset.encryption;
    }
    showSteps();
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "use_server") showFor(chosenServer());
  });
  fromInput.addEventListener("input", function () {
    replyTo.textContent = fromInput.value.trim() || replyTo.dataset.empty;
  });

  // The test can take up to SMTP_DEADLINE seconds: one click, and say so while it runs.
  // The form still posts as it would without this script.
  var submit = document.getElementById("save-and-test");
  var idleLabel = submit.textContent;
  form.addEventListener("submit", function () {
    // The browser has not sent the form yet; the button has no name, so disabling it
    // changes nothing that posts. A disabled default button also stops Enter.
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    submit.textContent = submit.dataset.testingLabel;
  });
  // Back from the next page (the browser's page cache): the button works again.
  window.addEventListener("pageshow", function () {
    submit.disabled = false;
    submit.removeAttribute("aria-busy");
    submit.textContent = idleLabel;
  });

  if (fromInput.value.trim()) replyTo.textContent = fromInput.value.trim();
  guessProvider();
  showSteps();
  showFor(chosenServer());
})();
