// Live example of the backorder numbering pattern, computed by the server's own formatter.
(function () {
  var input = document.getElementById("numbering_pattern");
  var output = document.getElementById("number-example");
  if (!input || !output || !window.fetch) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = input.dataset.exampleUrl + "?pattern=" + encodeURIComponent(input.value);
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          output.textContent = data.errors.length ? data.errors.join(" ") : data.example;
          output.className = data.errors.length ? "field-error" : "";
        })
        .catch(function () {});
    }, 200);
  });
})();
