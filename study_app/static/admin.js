// The researcher's pages: the study switcher submits on change; tables marked "sortable" sort by a
// column when its header button is pressed (numbers by the cell's data-sort, else by text).
"use strict";

document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});

function sortKey(cell) {
  const raw = cell.dataset.sort;
  if (raw === undefined) return cell.textContent.trim().toLowerCase();
  return raw === "" ? null : Number(raw);
}

document.querySelectorAll("table.sortable").forEach((table) => {
  const headers = Array.from(table.tHead.rows[0].cells);
  headers.forEach((th, column) => {
    const button = th.querySelector("button.sort");
    if (!button) return;
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach((other) => other.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = sortKey(a.cells[column]);
        const y = sortKey(b.cells[column]);
        if (x === y) return 0;
        if (x === null) return 1;  // missing values last, whatever the direction
        if (y === null) return -1;
        return (x < y ? -1 : 1) * (ascending ? 1 : -1);
      });
      rows.forEach((row) => body.appendChild(row));
    });
  });
});
