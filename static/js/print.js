// Print buttons (data-print): a script file, since the CSP forbids inline handlers.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
