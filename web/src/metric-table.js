// The host page's table of every latest metric, with a filter box. Values
// change in place as the stream brings new samples.

import { h, replace, setText } from './dom.js';
import * as fmt from './format.js';
import { metricKey } from './series.js';
import { stateBox } from './ui.js';

const order = (a, b) =>
  a.metric_type.localeCompare(b.metric_type) ||
  a.metric_name.localeCompare(b.metric_name) ||
  fmt.labelText(a.labels).localeCompare(fmt.labelText(b.labels), undefined, { numeric: true });

export class MetricTable {
  #metrics = new Map();
  #rows = new Map();
  #rates = new Map();
  #filter = '';
  #structureChanged = true;

  constructor() {
    this.filter = h('input', {
      id: 'metric-filter',
      type: 'search',
      class: 'input',
      placeholder: 'Filter by name or label',
      autocomplete: 'off',
      'data-testid': 'metric-filter',
    });
    this.count = h('span', { class: 'count', 'data-testid': 'metric-count' });
    this.tbody = h('tbody');
    this.table = h(
      'table',
      { class: 'metrics', 'data-testid': 'metric-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Metric'),
          h('th', { scope: 'col' }, 'Labels'),
          h('th', { scope: 'col', class: 'num' }, 'Value'),
          h('th', { scope: 'col' }, 'Time'),
        ),
      ),
      this.tbody,
    );
    this.body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted pad' }, 'Loading metrics…'));
    this.el = h(
      'section',
      { class: 'panel metric-panel', 'aria-labelledby': 'metrics-title' },
      h(
        'div',
        { class: 'panel-head panel-head-row' },
        h('h2', { id: 'metrics-title' }, 'Latest metrics ', this.count),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'metric-filter', class: 'visually-hidden' }, 'Filter metrics'),
          this.filter,
        ),
      ),
      this.body,
    );
    this.filter.addEventListener('input', () => {
      this.#filter = this.filter.value.trim().toLowerCase();
      this.render();
    });
  }

  get latest() {
    return this.#metrics;
  }

  /** Takes metrics (a full answer or a stream batch); returns true when something changed. */
  update(metrics, rates = null) {
    for (const m of metrics) {
      const key = metricKey(m);
      const old = this.#metrics.get(key);
      if (old && Date.parse(old.timestamp) > Date.parse(m.timestamp)) continue;
      if (!old) this.#structureChanged = true;
      this.#metrics.set(key, m);
      if (rates?.has(key)) this.#rates.set(key, rates.get(key));
    }
    return metrics.length > 0;
  }

  showError(box) {
    replace(this.body, box);
  }

  render() {
    if (this.#structureChanged) {
      this.#rows.clear();
      this.#structureChanged = false;
    }
    const all = [...this.#metrics.values()].sort(order);
    const words = this.#filter.split(/\s+/).filter(Boolean);
    const shown = all.filter((m) => {
      const text = `${m.metric_type}/${m.metric_name} ${fmt.labelText(m.labels)}`.toLowerCase();
      return words.every((w) => text.includes(w));
    });
    setText(
      this.count,
      all.length ? (shown.length === all.length ? all.length : `${shown.length} of ${all.length}`) : '',
    );
    if (!all.length) {
      replace(
        this.body,
        stateBox({ title: 'No metrics yet', text: 'This host has not sent any data.', kind: 'empty' }),
      );
      return;
    }
    if (!shown.length) {
      replace(
        this.body,
        stateBox({ title: 'No metrics match', text: `Nothing matches “${this.filter.value.trim()}”.` }),
      );
      return;
    }
    if (this.table.parentNode !== this.body) replace(this.body, this.table);
    const els = shown.map((m) => this.#row(m));
    const same = els.length === this.tbody.children.length && els.every((el, i) => this.tbody.children[i] === el);
    if (!same) this.tbody.replaceChildren(...els);
  }

  /** Refreshes the value cells of rows already shown (cheap; for each stream batch). */
  refreshValues() {
    if (this.#structureChanged) return this.render();
    for (const [key, row] of this.#rows) if (row.tr.isConnected) row.set(this.#metrics.get(key), this.#rates.get(key));
  }

  #row(m) {
    const key = metricKey(m);
    let row = this.#rows.get(key);
    if (!row) {
      const value = h('td', { class: 'num' });
      const time = h('td', { class: 'time' });
      const tr = h(
        'tr',
        {},
        h(
          'td',
          { class: 'mono' },
          `${m.metric_type}/`,
          h('strong', {}, m.metric_name),
          m.kind === 'counter' && h('span', { class: 'tag' }, 'counter'),
        ),
        h('td', { class: 'labels mono' }, fmt.labelText(m.labels) || h('span', { class: 'muted' }, '—')),
        value,
        time,
      );
      row = {
        tr,
        set: (metric, rate) => {
          const format = fmt.formatterFor(metric.metric_name, metric.kind);
          const perSecond = metric.metric_name.endsWith('_bytes_total') ? fmt.rate(rate) : `${fmt.number(rate)}/s`;
          setText(value, rate != null ? `${format(metric.value)} · ${perSecond}` : format(metric.value));
          value.title = String(metric.value);
          setText(time, fmt.time(Date.parse(metric.timestamp)));
        },
      };
      this.#rows.set(key, row);
    }
    row.set(m, this.#rates.get(key));
    return row.tr;
  }
}
