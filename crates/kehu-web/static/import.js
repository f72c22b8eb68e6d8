// Live progress of an import job: polls the job's JSON record every second,
// moves the progress bar and the counts, and reloads the page once the job
// has ended (to show its result and downloads). Without this script the
// page refreshes itself (a <noscript> meta refresh) and has a refresh link.
(function () {
  'use strict';
  const job = document.getElementById('import-job');
  if (!job || job.dataset.status !== 'running') return;
  const url = job.dataset.url;
  const show = (id, value) => {
    const el = document.getElementById(id);
    if (el && value !== null && value !== undefined) el.textContent = String(value);
  };
  async function poll() {
    try {
      const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (r.ok) {
        const j = await r.json();
        if (j.status !== 'running') {
          window.location.reload();
          return;
        }
        const bar = document.getElementById('job-progress');
        if (bar && typeof j.percent === 'number') bar.value = j.percent;
        show('job-percent', j.percent);
        show('job-rows', j.rows_read);
        for (const k of ['created', 'updated', 'unchanged', 'rejected']) show(`job-${k}`, j.counts[k]);
        const stage = document.getElementById('job-stage');
        if (stage) stage.hidden = !j.building_indexes;
      }
    } catch (e) {
      // The server may be restarting; try again.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
