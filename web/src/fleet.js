// The fleet page: every host with its liveness and live CPU, memory and
// disk use, search and filters, and the agents waiting to be claimed.

import { api } from './api.js';
import { openClaimDialog } from './claim.js';
import { h, icon, ICONS, replace, setText } from './dom.js';
import * as fmt from './format.js';
import { HostRow, HostStats, SPARK_BUCKET, SPARK_WINDOW } from './host-row.js';
import { MetricStream } from './stream.js';
import { displayName, errorBox, hostState, skeletonRows, stateBox } from './ui.js';

const HOSTS_REFRESH = 15 * 1000;
const STREAM_NAMES = ['usage_percent', 'used_percent', 'uptime_seconds', 'info'];
const STATES = ['online', 'stale', 'offline', 'revoked', 'deregistered'];

// The filters outlive the page, so that coming back from a host keeps them.
const filters = { text: '', label: '', section: '', state: 'all' };

function matches(host, sectionNames) {
  if (filters.state !== 'all' && hostState(host) !== filters.state) return false;
  if (filters.section && host.section_id !== filters.section) return false;
  const labels = Object.entries(host.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (filters.label && !labels.includes(filters.label)) return false;
  const text = filters.text.trim().toLowerCase();
  if (!text) return true;
  const haystack = [
    host.hostname,
    host.name,
    host.os,
    host.ip_address,
    host.id,
    sectionNames.get(host.section_id),
    ...labels,
  ];
  return text.split(/\s+/).every((word) => haystack.some((s) => s && s.toLowerCase().includes(word)));
}

const byName = (a, b) => displayName(a).localeCompare(displayName(b), undefined, { numeric: true });

export function mountFleet(root, ctx) {
  let hosts = [];
  let byId = new Map();
  let sections = null;
  let sectionNames = new Map();
  const stats = new Map();
  const rows = new Map();
  const dirty = new Set();
  let stream = null;
  let frame = 0;
  let stopped = false;
  let refreshFailed = false;
  const timers = [];
  const signatures = {}; // of what each part last rendered, to leave unchanged parts alone

  const setHosts = (list) => {
    hosts = list;
    byId = new Map(list.map((x) => [x.id, x]));
  };
  /** True when key differs from what was last rendered under this name. */
  const changed = (name, key) => {
    const text = JSON.stringify(key);
    if (signatures[name] === text) return false;
    signatures[name] = text;
    return true;
  };

  const statsOf = (id) => stats.get(id) ?? stats.set(id, new HostStats()).get(id);

  // The page's frame: heading, pending claims, toolbar, list.
  const summary = h('p', { class: 'page-sub', 'data-testid': 'fleet-summary' }, 'Loading hosts…');
  const pending = h('section', {
    class: 'panel pending',
    'aria-labelledby': 'pending-title',
    hidden: true,
    'data-testid': 'pending-panel',
  });
  const search = h('input', {
    id: 'fleet-search',
    type: 'search',
    class: 'input',
    placeholder: 'Name, OS, label…',
    value: filters.text,
    'data-testid': 'fleet-search',
    autocomplete: 'off',
  });
  const labelSelect = h(
    'select',
    { id: 'fleet-label', class: 'input', 'data-testid': 'filter-label' },
    h('option', { value: '' }, 'Any label'),
  );
  const sectionSelect = h('select', { id: 'fleet-section', class: 'input', 'data-testid': 'filter-section' });
  const sectionField = h(
    'div',
    { class: 'field field-inline', hidden: true },
    h('label', { for: 'fleet-section' }, 'Section'),
    sectionSelect,
  );
  const chips = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Status', hidden: true });
  const list = h('ul', { class: 'hosts', 'aria-label': 'Hosts', 'data-testid': 'host-list' });
  const body = h('div', { class: 'hosts-body' }, skeletonRows(6));

  root.append(
    h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Fleet'), summary)),
    pending,
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h(
        'div',
        { class: 'field field-search' },
        h('label', { for: 'fleet-search', class: 'visually-hidden' }, 'Search hosts'),
        icon(ICONS.search),
        search,
      ),
      h('div', { class: 'field field-inline' }, h('label', { for: 'fleet-label' }, 'Label'), labelSelect),
      sectionField,
      chips,
    ),
    h(
      'div',
      { class: 'panel hosts-panel' },
      h(
        'div',
        { class: 'hosts-head', 'aria-hidden': 'true' },
        ['Host', 'Status', 'System', 'CPU', 'Memory', 'Disk'].map((t) => h('span', {}, t)),
      ),
      body,
    ),
  );

  search.addEventListener('input', () => {
    filters.text = search.value;
    renderList();
  });
  labelSelect.addEventListener('change', () => {
    filters.label = labelSelect.value;
    renderList();
  });
  sectionSelect.addEventListener('change', () => {
    filters.section = sectionSelect.value;
    renderList();
  });

  function clearFilters() {
    Object.assign(filters, { text: '', label: '', section: '', state: 'all' });
    search.value = '';
    renderAll();
  }

  function renderAll() {
    renderFilters();
    renderPending();
    renderList();
  }

  function renderFilters() {
    const labels = new Set();
    for (const host of hosts) for (const [k, v] of Object.entries(host.labels ?? {})) labels.add(`${k}=${v}`);
    if (filters.label && !labels.has(filters.label)) labels.add(filters.label);
    const options = [...labels].sort();
    if (changed('labels', options)) {
      replace(
        labelSelect,
        h('option', { value: '' }, 'Any label'),
        options.map((l) => h('option', { value: l }, l)),
      );
    }
    labelSelect.value = filters.label;

    sectionField.hidden = !sections;
    if (!sections) filters.section = '';
    else if (changed('sections', sections)) {
      replace(
        sectionSelect,
        h('option', { value: '' }, 'All sections'),
        sections.map((s) => h('option', { value: s.id }, s.name)),
      );
    }
    sectionSelect.value = filters.section;
    renderChips();
  }

  function renderChips() {
    const fleet = hosts.filter((x) => x.status !== 'pending');
    const count = (state) => fleet.filter((x) => hostState(x) === state).length;
    const shown = STATES.filter((s) => s === 'online' || s === 'stale' || s === 'offline' || count(s) > 0);
    chips.hidden = false;
    const chip = (state, text, n) =>
      h(
        'button',
        {
          type: 'button',
          class: `seg seg-${state}`,
          'aria-pressed': String(filters.state === state),
          'data-testid': `filter-state-${state}`,
          onclick: () => {
            filters.state = state;
            renderChips();
            renderList();
          },
        },
        text,
        h('span', { class: 'seg-count' }, n),
      );
    replace(
      chips,
      chip('all', 'All', fleet.length),
      shown.map((s) => chip(s, s[0].toUpperCase() + s.slice(1), count(s))),
    );
    const online = count('online');
    setText(
      summary,
      fleet.length ? `${fleet.length} host${fleet.length === 1 ? '' : 's'} · ${online} online` : 'No hosts yet',
    );
  }

  function renderPending() {
    const waiting = hosts
      .filter((x) => x.status === 'pending')
      .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
    pending.hidden = waiting.length === 0;
    const admin = ctx.session.authenticated;
    const minute = Math.floor(Date.now() / 60000); // "registered 5 min ago" moves on
    if (!waiting.length || !changed('pending', [admin, minute, waiting])) return;
    replace(
      pending,
      h(
        'div',
        { class: 'panel-head' },
        h('h2', { id: 'pending-title' }, 'Waiting to be claimed ', h('span', { class: 'count' }, waiting.length)),
        h(
          'p',
          { class: 'muted' },
          'These agents registered themselves. Claim one with the token from its log to let it send data.',
        ),
      ),
      h(
        'ul',
        { class: 'pending-list' },
        waiting.map((host) => pendingRow(host, admin)),
      ),
    );
  }

  function pendingRow(host, admin) {
    const facts = [
      host.ip_address,
      host.os,
      host.agent_version && `agent ${host.agent_version}`,
      host.created_at && `registered ${fmt.ago(Date.parse(host.created_at))}`,
    ];
    return h(
      'li',
      { class: 'pending-row', 'data-testid': 'pending-row', 'data-host-id': host.id },
      h(
        'div',
        { class: 'pending-main' },
        h('strong', {}, host.hostname),
        h('div', { class: 'muted' }, facts.filter(Boolean).join(' · ')),
        h('code', { class: 'pending-id' }, host.id),
      ),
      admin
        ? h(
            'button',
            { type: 'button', class: 'btn btn-primary', 'data-testid': 'claim-button', onclick: () => claim(host) },
            'Claim',
          )
        : h(
            'button',
            { type: 'button', class: 'btn', 'data-testid': 'claim-login', onclick: () => ctx.login() },
            'Log in to claim',
          ),
    );
  }

  function claim(host) {
    openClaimDialog(host, {
      sections,
      onUnauthorized: () => ctx.login(),
      onClaimed: (claimed, answer) => {
        ctx.toast(
          `${answer?.name || claimed.hostname} is claimed. Its agent picks up its key on its next poll.`,
          'success',
        );
        refreshHosts();
      },
    });
  }

  function renderList() {
    const fleet = hosts.filter((x) => x.status !== 'pending');
    if (!fleet.length) {
      replace(
        body,
        stateBox({
          title: 'No hosts yet',
          text: 'Start ward-agent on a machine with this server’s address. It registers itself and shows up under “Waiting to be claimed”.',
        }),
      );
      return;
    }
    const shown = fleet.filter((x) => matches(x, sectionNames)).sort(byName);
    if (!shown.length) {
      replace(
        body,
        stateBox({
          title: 'No hosts match',
          text: 'Nothing in the fleet matches this search and these filters.',
          iconPath: ICONS.search,
          action: h(
            'button',
            { type: 'button', class: 'btn', onclick: clearFilters, 'data-testid': 'clear-filters' },
            'Clear filters',
          ),
        }),
      );
      return;
    }
    if (list.parentNode !== body) replace(body, list);
    const els = shown.map((host) => {
      let row = rows.get(host.id);
      if (!row) rows.set(host.id, (row = new HostRow(host)));
      row.update(host, statsOf(host.id), sectionNames.get(host.section_id));
      return row.el;
    });
    const same = els.length === list.children.length && els.every((el, i) => list.children[i] === el);
    if (!same) list.replaceChildren(...els);
    // Rows are drawn once they have a size.
    for (const host of shown) rows.get(host.id).redrawSparks(statsOf(host.id));
  }

  // Live data: collect changed hosts and repaint them once per frame.
  function onMetrics(metrics) {
    for (const m of metrics) {
      const ms = Date.parse(m.timestamp);
      if (!statsOf(m.server_id).apply(m, ms)) continue;
      dirty.add(m.server_id);
      const host = byId.get(m.server_id);
      if (host && (!host.last_seen || Date.parse(host.last_seen) < ms)) {
        host.last_seen = m.timestamp;
        if (host.status === 'active' && host.liveness !== 'online') {
          host.liveness = 'online';
          renderChips();
        }
      }
    }
    frame ||= requestAnimationFrame(flush);
  }

  function flush() {
    frame = 0;
    for (const id of dirty) {
      const row = rows.get(id);
      const host = byId.get(id);
      if (row?.el.isConnected && host) row.update(host, statsOf(id), sectionNames.get(host.section_id));
    }
    dirty.clear();
  }

  async function seedStats() {
    const to = Date.now();
    const from = Math.floor((to - SPARK_WINDOW) / SPARK_BUCKET) * SPARK_BUCKET;
    // The latest values, then 10 s averages for the sparklines. Averaging a
    // host's total CPU series with its per-core series (by=host) gives the
    // total again, as the total is the mean of the cores.
    const [latest, cpu, mem] = await Promise.allSettled([
      api.query({
        category_re: 'cpu|ram|disk|system',
        name_re: STREAM_NAMES.join('|'),
        from: to - 5 * 60 * 1000,
        to,
        agg: 'last',
      }),
      api.query({ category: 'cpu', name: 'usage_percent', from, to, step: SPARK_BUCKET, agg: 'avg', by: 'host' }),
      api.query({ category: 'ram', name: 'usage_percent', from, to, step: SPARK_BUCKET, agg: 'avg', by: 'host' }),
    ]);
    for (const s of latest.value?.series ?? []) {
      const point = s.points.at(-1);
      // agg=last answers one bucket that starts at `from`: a value, not a time for the sparkline.
      if (point)
        statsOf(s.host_id).apply(
          { metric_type: s.category, metric_name: s.name, labels: s.labels, value: point[1] },
          point[0],
          false,
        );
    }
    const seed = (answer, field) => {
      for (const s of answer.value?.series ?? []) {
        const buckets = statsOf(s.group.host)[field];
        buckets.splice(0, buckets.length, ...s.points.map(([t, v]) => ({ t, sum: v, n: 1 })));
      }
    };
    seed(cpu, 'cpuSpark');
    seed(mem, 'memSpark');
  }

  async function refreshHosts() {
    try {
      setHosts(await api.hosts());
      refreshFailed = false;
      renderAll();
    } catch (err) {
      // Say so once, not at every attempt; the list keeps its last state.
      if (err.status !== 401 && !refreshFailed) ctx.toast(`Could not refresh the host list: ${err.message}`, 'error');
      refreshFailed = true;
    }
  }

  async function load() {
    replace(body, skeletonRows(6));
    try {
      // Sections are for admins: a reader does not ask (and gets no section filter).
      const [list, sectionList] = await Promise.all([api.hosts(), ctx.session.authenticated ? api.sections() : null]);
      setHosts(list);
      sections = sectionList;
    } catch (err) {
      if (err.status === 401 || stopped) return;
      setText(summary, 'Hosts could not be loaded');
      replace(body, errorBox(err, load));
      return;
    }
    if (stopped) return;
    sectionNames = new Map((sections ?? []).map((s) => [s.id, s.name]));
    renderAll();
    await seedStats();
    if (stopped) return;
    renderList();
    stream = new MetricStream(
      { metric_type: ['cpu', 'ram', 'disk', 'system'], name: STREAM_NAMES },
      { onMetrics, onStatus: ctx.streamStatus },
    );
    timers.push(setInterval(refreshHosts, HOSTS_REFRESH));
    timers.push(setInterval(redrawSparks, SPARK_BUCKET)); // the sparklines' window moves on
  }

  function redrawSparks() {
    for (const [id, row] of rows) if (row.el.isConnected) row.redrawSparks(statsOf(id));
  }

  load();

  return () => {
    stopped = true;
    stream?.close();
    cancelAnimationFrame(frame);
    timers.forEach(clearInterval);
  };
}
