/* The marks grid (views/templates/grades_entry.pt): keyboard first.
   Up/Down and Enter move between cells (Shift+Enter goes back); a column pasted
   from Excel or WPS (one value per line, or tab-separated rows: the first
   column is taken) fills the cells from the one pasted into downwards.
   Nothing here saves: the form posts the whole column at once. */
(function () {
  "use strict";
  var grid = document.getElementById("grades-grid");
  if (!grid) { return; }
  var cells = Array.prototype.slice.call(grid.querySelectorAll("input[data-grid-cell]"));

  function move(from, step) {
    var to = cells[cells.indexOf(from) + step];
    if (to) { to.focus(); to.select(); }
    return to;
  }

  function lines(text) {
    var rows = text.replace(/\r\n?/g, "\n").split("\n");
    if (rows.length && rows[rows.length - 1] === "") { rows.pop(); }  // a copied column ends with a newline
    return rows.map(function (row) { return row.split("\t")[0].trim(); });
  }

  cells.forEach(function (cell) {
    cell.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || (event.key === "Enter" && !event.shiftKey)) {
        event.preventDefault();  // Enter moves on; the save button submits
        move(cell, 1);
      } else if (event.key === "ArrowUp" || (event.key === "Enter" && event.shiftKey)) {
        event.preventDefault();
        move(cell, -1);
      }
    });
    cell.addEventListener("paste", function (event) {
      var data = (event.clipboardData || window.clipboardData);
      var values = lines(data ? data.getData("text") : "");
      if (values.length < 2) { return; }  // one value: the browser's own paste
      event.preventDefault();
      var start = cells.indexOf(cell);
      values.forEach(function (value, i) {
        var target = cells[start + i];
        if (target) {
          target.value = value;
          target.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
      var last = cells[Math.min(start + values.length, cells.length) - 1];
      if (last) { last.focus(); }
    });
  });
})();
