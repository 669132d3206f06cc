// Small behaviours without inline script (the CSP forbids it).
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-print]");
  if (target) { event.preventDefault(); window.print(); }
});
document.addEventListener("change", function (event) {
  if (event.target.id === "lang-select") { event.target.form.submit(); }
});
