// Communications' customer filter: typing a name or customer id offers the tenant's
// matching customers (GET /customers/suggest/?q=) in a <datalist>; picking one puts its
// number in the field, which is what the filter submits. Without this script the field
// still takes a customer number.
(function () {
  "use strict";
  var input = document.getElementById("id_customer");
  if (!input || !input.dataset.suggestUrl || !window.fetch) return;

  var list = document.createElement("datalist");
  list.id = "customer-suggestions";
  input.after(list);
  input.setAttribute("list", list.id);

  var status = document.createElement("p");
  status.className = "help";
  status.id = "customer-suggest-status";
  status.setAttribute("aria-live", "polite");
  input.parentNode.appendChild(status);

  var found = [];
  var timer = null;
  var asked = "";

  function isNumber(text) {
    return /^\d+$/.test(text);
  }

  function show(customers) {
    found = customers;
    list.replaceChildren();
    customers.forEach(function (customer) {
      var option = document.createElement("option");
      option.value = String(customer.id);
      option.label = customer.external_id
        ? customer.name + " (" + customer.external_id + ")"
        : customer.name;
      option.textContent = option.label;
      list.appendChild(option);
    });
    status.textContent = customers.length
      ? customers.length + " customer" + (customers.length === 1 ? "" : "s") + " found: pick one."
      : "No customer starts with that.";
  }

  function ask(text) {
    asked = text;
    var url = input.dataset.suggestUrl + "?q=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : { customers: [] };
      })
      .then(function (data) {
        if (asked === text) show(data.customers || []);
      })
      .catch(function () {
        status.textContent = "";
      });
  }

  input.addEventListener("input", function () {
    var text = input.value.trim();
    clearTimeout(timer);
    if (!text || isNumber(text)) {
      status.textContent = "";
      return;
    }
    timer = setTimeout(function () {
      ask(text);
    }, 200);
  });

  // A name typed without picking: the one customer it names, if there is exactly one.
  input.form.addEventListener("submit", function () {
    var text = input.value.trim().toLowerCase();
    if (!text || isNumber(text)) return;
    var exact = found.filter(function (customer) {
      return customer.name.toLowerCase() === text || customer.external_id.toLowerCase() === text;
    });
    var chosen = exact.length === 1 ? exact : found.length === 1 ? found : [];
    if (chosen.length === 1) input.value = String(chosen[0].id);
  });
})();
