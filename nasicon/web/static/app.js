// Small progressive enhancement; every page works without it.
(function () {
  "use strict";
  // A form that runs a slow analysis says so and cannot be sent twice.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = form.getAttribute("data-busy");
      }
    });
  });
  // Filter the rows of a table as you type.
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var rows = document.querySelectorAll(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      rows.forEach(function (row) {
        row.hidden = needle !== "" && row.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
  });
  // Draw a figure on request (the server renders it with matplotlib).
  document.querySelectorAll("button[data-load-figure]").forEach(function (button) {
    button.addEventListener("click", function () {
      var slot = document.querySelector(button.getAttribute("data-load-figure"));
      var img = new Image();
      img.alt = "discovery curve";
      img.src = button.getAttribute("data-src") + "?t=" + Date.now();
      slot.replaceChildren(img);
    });
  });
})();
