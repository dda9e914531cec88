/* The settings pages' live progress bar: polls a job's progress (data-url: GET /api/v1/recompute/interest/<id>/ or
   /api/v1/calibrations/<id>/, the signed-in session) until it is done or failed; with data-reload the page then
   reloads to show the result. data-unit names what done/total count (default "members"). Everything else on the
   pages works without this script. */
(function () {
  "use strict";
  var bar = document.getElementById("recompute-progress");
  var label = document.getElementById("recompute-label");
  if (!bar || !label || !bar.dataset.url) { return; }
  var unit = bar.dataset.unit || "members";

  function show(job) {
    var percent = Math.round((job.progress || 0) * 100);
    bar.value = percent;
    bar.dataset.status = job.status;
    label.textContent = "Job " + job.id + ": " + job.status + ", " + percent + "% (" + job.done + " of " + job.total + " " + unit + ")";
  }

  function poll() {
    fetch(bar.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (job) {
        show(job);
        if (job.status === "pending" || job.status === "running") { window.setTimeout(poll, 700); }
        else if (bar.dataset.reload) { window.location.reload(); }
      })
      .catch(function () { label.textContent += " (live progress unavailable: refresh the page)"; });
  }

  if (bar.dataset.status === "pending" || bar.dataset.status === "running") { poll(); }
})();
