// The console's minute charts (the dashboard, a worker's page): polls the JSON named by the
// page's `data-source` and draws one Chart.js line chart per `canvas[data-series]`.
// Loaded as a file because the CSP forbids inline scripts.
'use strict';

(() => {
  const REFRESH_MS = 15_000;
  const MB = 1024 * 1024;
  const scaled = (factor) => (v) => (v === null ? null : v * factor);

  /** How each series is drawn; `map` turns the JSON value into the plotted one (nulls stay nulls). */
  const SERIES = {
    nodes: { label: 'Nodes', integer: true, color: '#0b6bcb' },
    missRate: { label: 'Miss rate', unit: ' %', max: 100, map: scaled(100), digits: 1, color: '#c2410c' },
    hitRate: { label: 'Hit rate', unit: ' %', max: 100, map: scaled(100), digits: 1, color: '#15803d' },
    items: { label: 'Items', integer: true, color: '#6d28d9' },
    bytes: { label: 'Total size', unit: ' MB', map: scaled(1 / MB), digits: 2, color: '#0e7490' },
    requests: { label: 'Requests', integer: true, color: '#b45309' },
    workers: { label: 'Healthy workers', integer: true, color: '#0b6bcb' },
    // CPU of one core; a busy process can pass 100 % for a moment (its GC threads), so no hard max.
    cpu: { label: 'CPU', unit: ' %', suggestedMax: 100, map: scaled(100), digits: 1, color: '#be123c' },
    bytesIn: { label: 'Bytes in', unit: ' KB', map: scaled(1 / 1024), digits: 1, color: '#0e7490' },
    bytesOut: { label: 'Bytes out', unit: ' KB', map: scaled(1 / 1024), digits: 1, color: '#6d28d9' },
  };

  const charts = new Map();
  const source = document.querySelector('[data-source]');
  const errorBox = document.getElementById('dashboard-error');
  const updatedAt = document.getElementById('last-updated');
  const nodeCount = document.getElementById('current-nodes');
  const nodeUnit = document.getElementById('current-nodes-unit');

  const pad = (n) => String(n).padStart(2, '0');
  // Formatted by hand: toLocaleTimeString gives "1:05 PM" or "13 h 05" depending on the locale.
  const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const hhmmss = (d) => `${hhmm(d)}:${pad(d.getSeconds())}`;

  function format(spec, value) {
    const text = spec.integer ? Math.round(value).toLocaleString() : value.toFixed(spec.digits ?? 0);
    return text + (spec.unit ?? '');
  }

  function createChart(canvas, spec) {
    return new Chart(canvas, {
      type: 'line',
      data: {
        labels: [],
        datasets: [{
          label: spec.label,
          data: [],
          borderColor: spec.color,
          backgroundColor: spec.color,
          borderWidth: 2,
          // Visible dots, so a lone reported minute between two gaps still shows.
          pointRadius: 2,
          pointHoverRadius: 4,
          spanGaps: false,
        }],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (ctx) => `${spec.label}: ${format(spec, ctx.parsed.y)}` } },
        },
        scales: {
          x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 7 } },
          y: {
            beginAtZero: true,
            min: 0,
            max: spec.max,
            suggestedMax: spec.suggestedMax,
            ticks: {
              precision: spec.integer ? 0 : undefined,
              callback: spec.unit === ' %' ? (v) => `${v} %` : undefined,
            },
          },
        },
      },
    });
  }

  function render(data) {
    // The viewer's own time zone; the server's `labels` are for scripts.
    const labels = data.minutes.map((iso) => hhmm(new Date(iso)));
    for (const [name, chart] of charts) {
      const spec = SERIES[name];
      const values = data.series[name];
      chart.data.labels = labels;
      chart.data.datasets[0].data = spec.map ? values.map(spec.map) : values;
      chart.update('none');
    }
    // Only the dashboard says how many nodes the pool has now.
    if (nodeCount && typeof data.currentNodes === 'number') {
      nodeCount.textContent = String(data.currentNodes);
      nodeUnit.textContent = data.currentNodes === 1 ? 'node' : 'nodes';
    }
    updatedAt.textContent = hhmmss(new Date(data.generatedAt));
    updatedAt.dateTime = data.generatedAt;
  }

  function showError(message, link) {
    errorBox.textContent = message;
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      errorBox.append(' ', a);
    }
    errorBox.hidden = false;
  }

  async function refresh() {
    try {
      const res = await fetch(source.dataset.source, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (res.status === 401) {
        const next = encodeURIComponent(location.pathname);
        showError('Your console session has ended; the charts show the last data received.', { href: `/login?next=${next}`, text: 'Log in again' });
        return;
      }
      if (res.status === 404) {
        showError('This page no longer exists (the worker was removed); the charts show the last data received.', { href: '/workers', text: 'Back to the workers' });
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      render(await res.json());
      errorBox.hidden = true;
    } catch (err) {
      showError(`Could not refresh the charts (${err.message}); showing the last data received. Retrying every ${REFRESH_MS / 1000} s.`);
    }
  }

  let timer;
  function schedule() {
    clearTimeout(timer);
    // Chained rather than setInterval, so a slow answer never overlaps the next request.
    timer = setTimeout(async () => {
      if (!document.hidden) await refresh();
      schedule();
    }, REFRESH_MS);
  }

  function start() {
    if (typeof Chart === 'undefined') {
      showError('The chart library did not load; reload the page to try again.');
      return;
    }
    for (const canvas of document.querySelectorAll('canvas[data-series]')) {
      const spec = SERIES[canvas.dataset.series];
      if (spec) charts.set(canvas.dataset.series, createChart(canvas, spec));
    }
    // A tab coming back into view catches up at once instead of waiting for the next tick.
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) refresh().then(schedule);
    });
    refresh().then(schedule);
  }

  start();
})();
