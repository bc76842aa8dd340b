// On wide screens the menu is always open; on phones it folds into one toggle. Without
// JavaScript it starts open on every screen, and the toggle still works.
(function () {
  "use strict";
  var menu = document.getElementById("menu");
  if (!menu) return;
  var phone = window.matchMedia("(max-width: 48rem)");
  function fit() {
    menu.open = !phone.matches;
  }
  fit();
  phone.addEventListener("change", fit);
})();
