// Polls the bulk job's JSON status and moves the progress bar until the job has finished.
(function () {
  var box = document.getElementById("bulk-job");
  if (!box || !window.fetch) return;
  var bar = box.querySelector(".progress > div");
  var list = document.getElementById("bulk-outcomes");
  function show(s) {
    document.getElementById("bulk-done").textContent = s.done;
    document.getElementById("bulk-total").textContent = s.total;
    document.getElementById("bulk-failed").textContent = s.failed;
    document.getElementById("bulk-status").textContent = s.status;
    box.dataset.status = s.status;
    bar.style.width = s.percent + "%";
    box.querySelector(".progress").setAttribute("aria-valuenow", s.percent);
    list.textContent = "";
    s.outcomes.forEach(function (o) {
      var li = document.createElement("li");
      li.dataset.productId = o.product_id;
      li.dataset.ok = o.ok ? "true" : "false";
      if (o.variation_id) li.dataset.variationId = o.variation_id;
      var name = "#" + o.product_id + (o.variation_id ? " variation #" + o.variation_id : "");
      li.textContent = name + ": " + o.message;
      list.appendChild(li);
    });
  }
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) { show(s); if (s.status !== "finished" && s.status !== "failed") setTimeout(poll, 500); })
      .catch(function () { setTimeout(poll, 2000); });
  }
  if (box.dataset.status !== "finished" && box.dataset.status !== "failed") poll();
})();
