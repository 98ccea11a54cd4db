/* digestgen: let a reader re-sort a digest's papers (upvotes, date, listing). The page is in
   the curator's order without this script; it works under the theme's strict CSP. */
(function () {
  "use strict";

  var list = document.querySelector("[data-sortable]");
  var select = document.getElementById("sort-select");
  if (!list || !select) {
    return;
  }
  var note = document.getElementById("order-note");
  var items = Array.prototype.slice.call(list.children);
  items.forEach(function (item, n) {
    item.setAttribute("data-default", String(n));
  });

  function number(item, name) {
    return Number(item.getAttribute(name)) || 0;
  }

  var orders = {
    "default": function (a, b) { return number(a, "data-default") - number(b, "data-default"); },
    "listing": function (a, b) { return number(a, "data-position") - number(b, "data-position"); },
    "upvotes": function (a, b) {
      return number(b, "data-upvotes") - number(a, "data-upvotes") || orders.listing(a, b);
    },
    "date": function (a, b) {
      var da = a.getAttribute("data-date") || "", db = b.getAttribute("data-date") || "";
      return da === db ? orders.listing(a, b) : da < db ? 1 : -1;
    },
  };

  function resort() {
    var compare = orders[select.value] || orders["default"];
    var fragment = document.createDocumentFragment();
    items.slice().sort(compare).forEach(function (item) { fragment.appendChild(item); });
    list.appendChild(fragment);
    if (note) {
      note.textContent = select.options[select.selectedIndex].text + ".";
    }
  }

  var control = select.closest(".sort-control");
  if (control) {
    control.hidden = false;
  }
  if (note) {
    note.setAttribute("aria-live", "polite");
    note.classList.add("visually-hidden");
  }
  select.addEventListener("change", resort);
})();
