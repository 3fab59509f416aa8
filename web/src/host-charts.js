// The host page's charts: a panel per entry of PANELS, either live (the
// last five minutes, fed by the stream) or history (the query API over a
// chosen range, with drag-to-zoom), and the range picker that switches.

import { api } from './api.js';
import { TimeChart } from './charts.js';
import { h, setText } from './dom.js';
import * as fmt from './format.js';
import { belongs, panelQuery, PANELS, sortByLabel } from './panels.js';
import { breakGaps, joinSeries, pickStep, RollingFrame, seriesKey } from './series.js';

const LIVE_SECONDS = 300;
const HISTORY_REFRESH = 60 * 1000;
const MIN_ZOOM = 30 * 1000;
const RANGES = [
  ['15m', 15 * 60e3, 'Last 15 minutes'],
  ['1h', 3600e3, 'Last hour'],
  ['6h', 6 * 3600e3, 'Last 6 hours'],
  ['24h', 24 * 3600e3, 'Last 24 hours'],
  ['7d', 7 * 86400e3, 'Last 7 days'],
  ['30d', 30 * 86400e3, 'Last 30 days'],
];
const CPU_TOTAL = seriesKey('cpu', 'usage_percent', {});

function stepText(ms) {
  if (ms < 60e3) return `${ms / 1000} s`;
  if (ms < 3600e3) return `${ms / 60e3} min`;
  if (ms < 86400e3) return `${ms / 3600e3} h`;
  return `${ms / 86400e3} d`;
}

function makePanel(def) {
  const summary = h('span', { class: 'panel-summary' });
  const overlay = h('div', { class: 'chart-overlay', hidden: true });
  const plot = h('div', { class: 'chart-plot' });
  const slot = h('div', { class: 'chart' }, plot, overlay);
  const el = h(
    'section',
    { class: `panel chart-panel chart-${def.id}`, 'aria-label': def.title },
    h('div', { class: 'panel-head panel-head-row' }, h('h2', {}, def.title), summary),
    slot,
  );
  return {
    def,
    el,
    summary,
    overlay,
    plot,
    slot,
    chart: null,
    frame: new RollingFrame(LIVE_SECONDS),
    labelOf: new Map(),
  };
}

function showOverlay(p, text, kind = 'empty') {
  p.overlay.hidden = !text;
  p.overlay.dataset.kind = kind;
  setText(p.overlay, text ?? '');
}

/**
 * The charts of host `id`.
 *   latest():  Map key → newest metric of the host (for summaries and empty states)
 *   online():  whether the host is online now
 * Returns { rangeBar, grid, add, draw, destroy }: add() takes each stream
 * sample (counters as rates), draw() repaints once per frame.
 */
export function createHostCharts(id, { latest, online }) {
  let mode = 'live';
  let zoom = null;
  let seeded = false;
  let historyAbort = null;
  let destroyed = false;
  const panels = PANELS.map(makePanel);
  const hasSeries = (def) => [...latest().values()].some((m) => belongs(def, m.metric_type, m.metric_name, m.labels));

  // ---- the range picker -------------------------------------------------------
  const rangeButtons = [['live', 'Live'], ...RANGES.map(([key]) => [key, key])].map(([key, text]) =>
    h(
      'button',
      {
        type: 'button',
        class: `seg${key === 'live' ? ' seg-live' : ''}`,
        'data-testid': `range-${key}`,
        onclick: () => setMode(key),
      },
      text,
    ),
  );
  const rangeText = h('span', { class: 'range-text', 'data-testid': 'range-text', 'aria-live': 'polite' });
  const resetZoom = h(
    'button',
    { type: 'button', class: 'btn btn-small', 'data-testid': 'reset-zoom', hidden: true, onclick: () => zoomTo(null) },
    'Reset zoom',
  );
  const rangeBar = h(
    'div',
    { class: 'toolbar range-bar' },
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' }, rangeButtons),
    rangeText,
    resetZoom,
  );
  const grid = h(
    'div',
    { class: 'charts' },
    panels.map((p) => p.el),
  );
  const refresher = setInterval(() => mode !== 'live' && !zoom && loadHistory(), HISTORY_REFRESH);

  function setMode(next) {
    mode = next;
    zoom = null;
    for (const b of rangeButtons) b.setAttribute('aria-pressed', String(b.dataset.testid === `range-${mode}`));
    historyAbort?.abort();
    for (const p of panels) makeChart(p);
    if (mode === 'live') {
      resetZoom.hidden = true;
      setText(rangeText, 'Last 5 minutes, as it happens');
      if (!seeded) seedLive();
      drawLive();
    } else {
      loadHistory();
    }
  }

  function makeChart(p) {
    p.chart?.destroy();
    p.plot.replaceChildren();
    const live = mode === 'live';
    p.slot.setAttribute(
      'data-testid',
      live ? `live-${p.def.id}` : p.def.id === 'cpu' ? 'history-chart' : `history-${p.def.id}`,
    );
    delete p.slot.dataset.points;
    delete p.slot.dataset.from;
    delete p.slot.dataset.to;
    p.chart = new TimeChart(p.plot, {
      format: p.def.format,
      yRange: p.def.y,
      sync: live ? 'live' : 'history',
      zoom: live ? null : (from, to) => zoomTo({ from, to }),
    });
  }

  // ---- live ---------------------------------------------------------------------
  function add(key, m, ms, value) {
    for (const p of panels)
      if (belongs(p.def, m.metric_type, m.metric_name, m.labels)) addPoint(p, key, m.labels, m.metric_name, ms, value);
  }

  function addPoint(p, key, labels, name, ms, value) {
    if (!p.labelOf.has(key)) p.labelOf.set(key, p.def.label(labels, name));
    p.frame.add(key, ms, value);
  }

  /** Redraws every live chart up to the newest sample of any, so that they line up. */
  function drawLive() {
    const newest = Math.max(...panels.map((p) => p.frame.newest ?? -Infinity));
    const end = Number.isFinite(newest) ? newest : Date.now() / 1000;
    for (const p of panels) {
      p.frame.trim(end);
      const keys = sortByLabel(p.frame.keys, p.labelOf);
      p.chart.setWindow((end - LIVE_SECONDS) * 1000, end * 1000);
      p.chart.setData(
        p.frame.data(keys),
        keys.map((k) => p.labelOf.get(k)),
      );
      if (p.def.id === 'cpu') p.slot.dataset.points = String(p.frame.count(CPU_TOTAL));
      if (keys.length) showOverlay(p, null);
      else if (!seeded) showOverlay(p, 'Loading…', 'loading');
      else if (p.def.empty && !hasSeries(p.def)) showOverlay(p, p.def.empty);
      else showOverlay(p, online() ? 'Waiting for data…' : 'No data in the last 5 minutes');
    }
  }

  /** The last five minutes from the query API, so that live charts do not start empty. */
  async function seedLive() {
    const to = Date.now();
    const from = Math.floor(to / 1000) * 1000 - LIVE_SECONDS * 1000;
    await Promise.all(
      queries().map(async ({ params, members }) => {
        try {
          const answer = await api.query({ ...params, host: id, from, to, step: 1000 });
          for (const s of answer.series) {
            const key = seriesKey(s.category, s.name, s.labels);
            for (const p of members) {
              if (!belongs(p.def, s.category, s.name, s.labels)) continue;
              for (const [ms, v] of s.points) addPoint(p, key, s.labels, s.name, ms, v);
            }
          }
        } catch {
          // The stream fills the charts anyway.
        }
      }),
    );
    seeded = true;
    if (mode === 'live' && !destroyed) drawLive();
  }

  // ---- history ------------------------------------------------------------------
  /** Panels grouped by the query they need (the two CPU panels share one). */
  function queries() {
    const groups = new Map();
    for (const p of panels) {
      const params = { ...panelQuery(p.def), agg: p.def.counter ? 'rate' : 'avg' };
      const k = JSON.stringify(params);
      if (!groups.has(k)) groups.set(k, { params, members: [] });
      groups.get(k).members.push(p);
    }
    return [...groups.values()];
  }

  function zoomTo(range) {
    if (range && range.to - range.from < MIN_ZOOM) {
      const mid = (range.from + range.to) / 2;
      range = { from: mid - MIN_ZOOM / 2, to: mid + MIN_ZOOM / 2 };
    }
    zoom = range && { from: Math.round(range.from), to: Math.round(range.to) };
    loadHistory();
  }

  async function loadHistory() {
    historyAbort?.abort();
    const abort = (historyAbort = new AbortController());
    const [, span, name] = RANGES.find(([key]) => key === mode);
    const { from, to } = zoom ?? { from: Date.now() - span, to: Date.now() };
    const step = pickStep(to - from);
    resetZoom.hidden = !zoom;
    const label = zoom ? `${fmt.dateTime(from)} – ${fmt.dateTime(to)}` : name;
    setText(rangeText, `${label} · ${stepText(step)} steps${zoom ? '' : ' · drag across a chart to zoom'}`);
    for (const p of panels) {
      p.slot.dataset.from = String(from);
      p.slot.dataset.to = String(to);
      p.slot.setAttribute('aria-busy', 'true');
      showOverlay(p, 'Loading…', 'loading');
    }
    await Promise.all(
      queries().map(async ({ params, members }) => {
        try {
          const answer = await api.query({ ...params, host: id, from, to, step }, abort.signal);
          if (!abort.signal.aborted) for (const p of members) drawHistory(p, answer.series, from, to, step);
        } catch (err) {
          if (abort.signal.aborted || err.name === 'AbortError') return;
          for (const p of members) {
            p.slot.removeAttribute('aria-busy');
            showOverlay(p, `Could not load: ${err.message}`, 'error');
          }
        }
      }),
    );
  }

  function drawHistory(p, series, from, to, step) {
    const mine = series.filter((s) => belongs(p.def, s.category, s.name, s.labels));
    const labelOf = new Map(mine.map((s) => [s, p.def.label(s.labels, s.name)]));
    mine.sort((a, b) => labelOf.get(a).localeCompare(labelOf.get(b), undefined, { numeric: true }));
    p.chart.setWindow(from, to);
    p.chart.setData(
      breakGaps(joinSeries(mine.map((s) => s.points)), step / 1000),
      mine.map((s) => labelOf.get(s)),
    );
    p.slot.removeAttribute('aria-busy');
    const points = mine.reduce((n, s) => n + s.points.length, 0);
    if (points) showOverlay(p, null);
    else if (!mine.length && p.def.empty && !hasSeries(p.def)) showOverlay(p, p.def.empty);
    else showOverlay(p, 'No data in this range');
  }

  // ---- per frame ----------------------------------------------------------------
  /** Repaints the live charts (in live mode) and every panel's summary line. */
  function draw(rates) {
    if (mode === 'live') drawLive();
    for (const p of panels) {
      const current = [...rates.values()].filter((r) => p.def.names.includes(r.name));
      setText(p.summary, p.def.summary?.(latest(), current) ?? '');
    }
  }

  setMode('live');

  return {
    rangeBar,
    grid,
    add,
    draw,
    destroy() {
      destroyed = true;
      clearInterval(refresher);
      historyAbort?.abort();
      for (const p of panels) p.chart?.destroy();
    },
  };
}
