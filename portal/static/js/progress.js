// Progress bars of background jobs: poll /api/v1/jobs/<id> until the job has ended.
(function () {
  "use strict";
  function paint(box, job) {
    var bar = box.querySelector("[data-job-bar]");
    bar.style.width = job.progress + "%";
    box.querySelector(".progress").setAttribute("aria-valuenow", job.progress);
    if (job.status === "finished" && job.result_url) {
      var link = box.querySelector("[data-job-result]");
      link.href = job.result_url;
      link.classList.remove("d-none");
      box.querySelector("[data-job-state]").textContent = box.dataset.readyText || "✓";
    } else if (job.status === "failed") {
      box.querySelector("[data-job-state]").textContent = box.dataset.failedText || "✗";
    }
  }
  function poll(box) {
    fetch(box.dataset.jobUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        paint(box, job);
        if (job.status === "queued" || job.status === "running") {
          setTimeout(function () { poll(box); }, 1000);
        }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 5000); });
  }
  document.querySelectorAll("[data-job-url]").forEach(function (box) {
    var bar = box.querySelector("[data-job-bar]");
    bar.style.width = bar.dataset.progress + "%";
    if (box.dataset.jobStatus === "queued" || box.dataset.jobStatus === "running") { poll(box); }
  });
})();
