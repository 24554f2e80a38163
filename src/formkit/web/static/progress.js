// Optional: without JavaScript the page refreshes itself (meta refresh); with it the bar moves smoothly.
(function () {
  var box = document.getElementById("progress");
  if (!box || !window.fetch) { return; }
  var meta = document.querySelector('meta[http-equiv="refresh"]');
  if (meta) { meta.parentNode.removeChild(meta); }
  function poll() {
    fetch(box.getAttribute("data-status"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("bar").value = s.percent;
        document.getElementById("phase").textContent = s.phase;
        document.getElementById("count").textContent = s.done + " / " + (s.total || "…");
        if (s.finished) { window.location.reload(); } else { setTimeout(poll, 700); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
