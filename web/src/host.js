// The host page: what the host is, its charts (host-charts.js), the
// table of its latest metrics, kept live by the stream, and the panel that
// runs diagnostics on it (diagnostics-panel.js).

import { api } from './api.js';
import { createDiagnostics } from './diagnostics-panel.js';
import { h, icon, ICONS, replace, setText } from './dom.js';
import * as fmt from './format.js';
import { createHostCharts } from './host-charts.js';
import { MetricTable } from './metric-table.js';
import { metricKey, RateTracker } from './series.js';
import { MetricStream } from './stream.js';
import { displayName, errorBox, hostState, labelChips, stateBox, statusBadge, updateBadge } from './ui.js';

const HOST_REFRESH = 15 * 1000;

/** The header: name, liveness, facts and labels. */
function hostHeader() {
  const title = h('h1', { class: 'host-title' });
  const badge = h('span');
  const facts = h('dl', { class: 'facts' });
  const chips = h('div');
  const el = h(
    'header',
    { class: 'panel host-head' },
    h('div', { class: 'host-title-row' }, title, badge),
    facts,
    chips,
  );
  let signature = '';

  function render(host, latest) {
    setText(title, displayName(host));
    document.title = `${displayName(host)} · ward`;
    if (!badge.firstChild) badge.append(statusBadge(host));
    else updateBadge(badge.firstChild, host);
    const metrics = [...latest.values()];
    const info = metrics.find((m) => m.metric_type === 'system' && m.metric_name === 'info');
    const uptime = metrics.find((m) => m.metric_type === 'system' && m.metric_name === 'uptime_seconds');
    const fresh = ['online', 'stale'].includes(hostState(host));
    const sinceSample = uptime ? (Date.now() - Date.parse(uptime.timestamp)) / 1000 : 0;
    const rows = [
      ['Hostname', host.hostname],
      ['OS', host.os || info?.labels.os],
      ['Kernel', info?.labels.kernel],
      ['Uptime', fresh && uptime ? fmt.duration(uptime.value + sinceSample) : null],
      ['Address', host.ip_address],
      ['Agent', host.agent_version],
      ['Last seen', host.last_seen ? fmt.ago(Date.parse(host.last_seen)) : 'never'],
    ].filter(([, v]) => v);
    const next = JSON.stringify([rows, host.labels]);
    if (next === signature) return;
    signature = next;
    replace(
      facts,
      rows.map(([k, v]) => h('div', { class: 'fact' }, h('dt', {}, k), h('dd', {}, v))),
    );
    replace(chips, labelChips(host.labels));
  }

  return { el, render };
}

function skeleton() {
  return [
    h(
      'div',
      { class: 'panel host-head skeleton', 'aria-busy': 'true' },
      h('span', { class: 'visually-hidden' }, 'Loading host…'),
      h('div', { class: 'skeleton-row' }),
      h('div', { class: 'skeleton-row short' }),
    ),
    h(
      'div',
      { class: 'charts', 'aria-hidden': 'true' },
      Array.from({ length: 4 }, () => h('div', { class: 'panel skeleton-chart' }, h('div', { class: 'skeleton-row' }))),
    ),
  ];
}

export function mountHost(root, ctx, routeId) {
  let host = null;
  let charts = null;
  let diagnostics = null;
  let stream = null;
  let frame = 0;
  let timer = 0;
  let stopped = false;
  const tracker = new RateTracker();
  const rates = new Map(); // key → { name, value }: the newest rate of each counter
  const table = new MetricTable();
  const header = hostHeader();
  const page = h('div', { class: 'host-page' }, skeleton());
  root.append(h('a', { class: 'back', href: '#/' }, icon(ICONS.back), 'Fleet'), page);

  function onMetrics(metrics) {
    const mine = metrics.filter((m) => m.server_id === host.id);
    if (!mine.length) return;
    const newRates = new Map();
    for (const m of mine) {
      const key = metricKey(m);
      const ms = Date.parse(m.timestamp);
      let value = m.value;
      if (m.kind === 'counter') {
        value = tracker.next(key, ms, m.value); // counters are drawn as rates
        if (value == null) continue;
        newRates.set(key, value);
        rates.set(key, { name: m.metric_name, value });
      }
      charts.add(key, m, ms, value);
    }
    table.update(mine, newRates);
    host.last_seen = mine.reduce((t, m) => (m.timestamp > t ? m.timestamp : t), host.last_seen ?? '');
    if (host.status === 'active') host.liveness = 'online';
    frame ||= requestAnimationFrame(flush);
  }

  function flush() {
    frame = 0;
    if (stopped) return;
    charts.draw(rates);
    header.render(host, table.latest);
    table.refreshValues();
  }

  async function refreshHost() {
    try {
      host = await api.host(host.id);
      header.render(host, table.latest);
      diagnostics?.setHost(host);
    } catch {
      // Keep what is shown; the live indicator tells about the connection.
    }
  }

  async function load() {
    let latest;
    try {
      [host, latest] = await Promise.all([api.host(routeId), api.latest(routeId)]);
    } catch (err) {
      if (err.status === 401 || stopped) return;
      const missing = err.status === 404 || err.status === 400;
      replace(
        page,
        missing
          ? stateBox({
              title: 'Host not found',
              text: 'There is no host with this id, or it is not yours to see.',
              action: h('a', { class: 'btn', href: '#/' }, 'Back to the fleet'),
            })
          : errorBox(err, load),
      );
      return;
    }
    if (stopped) return;
    table.update(latest);
    charts = createHostCharts(host.id, { latest: () => table.latest, online: () => hostState(host) === 'online' });
    header.render(host, table.latest);
    diagnostics = createDiagnostics(host, ctx);
    replace(
      page,
      header.el,
      host.status === 'pending' &&
        h(
          'p',
          { class: 'notice' },
          'This agent waits to be claimed; it sends data once an admin claims it on the fleet page.',
        ),
      charts.rangeBar,
      charts.grid,
      table.el,
      diagnostics.el,
    );
    table.render();
    charts.draw(rates);
    stream = new MetricStream({ server_id: host.id }, { onMetrics, onStatus: ctx.streamStatus });
    timer = setInterval(refreshHost, HOST_REFRESH);
  }

  load();

  return () => {
    stopped = true;
    stream?.close();
    charts?.destroy();
    diagnostics?.destroy();
    cancelAnimationFrame(frame);
    clearInterval(timer);
    document.title = 'ward';
  };
}
