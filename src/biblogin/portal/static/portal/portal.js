/* Bibliotek.dk: small improvements on pages that work without JavaScript.
   - search fields get suggestions (titles) while typing, through a <datalist>;
   - "Vælg alle på siden" on the huskeliste ticks the boxes instead of reloading the page. */
(function () {
  "use strict";

  function suggestions(input) {
    var url = input.getAttribute("data-suggest-url");
    if (!url || !window.fetch) { return; }
    var list = document.createElement("datalist");
    list.id = input.id + "-suggestions";
    input.parentNode.appendChild(list);
    input.setAttribute("list", list.id);
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      var query = input.value.trim();
      if (timer) { clearTimeout(timer); }
      if (query.length < 2 || query === last) { return; }
      timer = setTimeout(function () {
        last = query;
        fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
          .then(function (data) {
            while (list.firstChild) { list.removeChild(list.firstChild); }
            (data.suggestions || []).forEach(function (title) {
              var option = document.createElement("option");
              option.value = title;
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are only a help */ });
      }, 200);
    });
  }

  function selectAll(link) {
    var form = link.closest("form");
    if (!form) { return; }
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var boxes = form.querySelectorAll("input[type=checkbox][name=pid]");
      var all = Array.prototype.every.call(boxes, function (box) { return box.checked; });
      Array.prototype.forEach.call(boxes, function (box) { box.checked = !all; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest-url]"), suggestions);
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), selectAll);
  });
})();
