// The book's additions to sphinx-book-theme (loaded by tools/book_html_fixes.py).
//
// Printing (the browser's print, and `make pdf`): a display equation wider than the
// printed column is scaled down to fit it, since paper cannot scroll; the scale is
// undone after printing.
(function () {
  "use strict";

  function fitEquations() {
    document.querySelectorAll('.bd-article mjx-container[display="true"]').forEach((box) => {
      const math = box.firstElementChild;
      if (!math) return;
      box.style.zoom = "";
      const room = box.clientWidth;
      const needed = math.getBoundingClientRect().width;
      if (room > 0 && needed > room + 1) {
        box.style.zoom = String(Math.max(0.4, (room - 2) / needed));
        box.dataset.bookZoomed = "1";
      }
    });
  }

  function unfitEquations() {
    document.querySelectorAll("mjx-container[data-book-zoomed]").forEach((box) => {
      box.style.zoom = "";
      delete box.dataset.bookZoomed;
    });
  }

  window.addEventListener("beforeprint", fitEquations);
  window.addEventListener("afterprint", unfitEquations);
  window.bookFitEquations = fitEquations; // used by tools/make_pdf.py before printing
})();
