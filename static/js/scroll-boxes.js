// A box that scrolls sideways (a wide table, or preformatted text, on a narrow screen) can
// be reached and scrolled with the keyboard: while it does scroll, it is focusable and
// named (by its table's caption, else by the page's generic label). A script file: the CSP
// forbids inline scripts.
(function () {
  "use strict";
  var MARK = "data-scroll-box";

  function update() {
    var label = document.body.getAttribute("data-scroll-label") || "";
    document.querySelectorAll(".table-scroll, pre").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute(MARK)) {
        if (box.hasAttribute("tabindex")) {
          return; // made focusable by its template: left as it is
        }
        var caption = box.querySelector("caption");
        box.setAttribute(MARK, "");
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", (caption && caption.textContent.trim()) || label);
      } else if (!scrolls && box.hasAttribute(MARK)) {
        ["tabindex", "role", "aria-label", MARK].forEach(function (name) {
          box.removeAttribute(name);
        });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
  window.addEventListener("resize", update);
  document.addEventListener("htmx:afterSettle", update);
})();
