// One host of the fleet list: its latest numbers, its sparklines, and the
// row that shows them and is updated in place as the stream brings data.

import { drawSparkline, sparkColor } from './charts.js';
import { h, replace, setText } from './dom.js';
import * as fmt from './format.js';
import { displayName, hostState, labelChips, statusBadge, updateBadge } from './ui.js';

export const SPARK_WINDOW = 15 * 60 * 1000;
export const SPARK_BUCKET = 10 * 1000;

const level = (v) => (v >= 90 ? 'bad' : v >= 75 ? 'warn' : 'ok');

/** A host's latest numbers and its sparklines, kept as 10 s averages. */
export class HostStats {
  cpu = null;
  mem = null;
  uptime = null;
  os = null; // from the agent's system/info, for hosts registered without one
  disks = new Map();
  cpuSpark = [];
  memSpark = [];

  /** Takes one sample; `spark` false keeps it out of the sparklines. Returns whether it was used. */
  apply(m, ms, spark = true) {
    const { metric_type: type, metric_name: name, value, labels } = m;
    if (type === 'cpu' && name === 'usage_percent' && !('core' in labels)) {
      this.cpu = value;
      if (spark) addToBucket(this.cpuSpark, ms, value);
    } else if (type === 'ram' && name === 'usage_percent') {
      this.mem = value;
      if (spark) addToBucket(this.memSpark, ms, value);
    } else if (type === 'disk' && name === 'used_percent') {
      this.disks.set(labels.mountpoint ?? labels.device ?? '?', value);
    } else if (type === 'system' && name === 'uptime_seconds') {
      this.uptime = value;
    } else if (type === 'system' && name === 'info') {
      this.os = labels.os ?? this.os;
    } else {
      return false;
    }
    return true;
  }

  /** The fullest file system: [mountpoint, percent] or null. */
  get fullestDisk() {
    let best = null;
    for (const entry of this.disks) if (!best || entry[1] > best[1]) best = entry;
    return best;
  }
}

function addToBucket(buckets, ms, value) {
  const t = Math.floor(ms / SPARK_BUCKET) * SPARK_BUCKET;
  const last = buckets.at(-1);
  if (last && last.t === t) {
    last.sum += value;
    last.n++;
  } else if (!last || t > last.t) {
    buckets.push({ t, sum: value, n: 1 });
    while (buckets.length && buckets[0].t < t - SPARK_WINDOW) buckets.shift();
  }
}

const sparkPoints = (buckets) => buckets.map((b) => [b.t, b.sum / b.n]);

/** One host in the list; update() refreshes it in place. */
export class HostRow {
  constructor(host) {
    this.id = host.id;
    this.name = h('a', { class: 'host-name', href: `#/host/${encodeURIComponent(host.id)}` });
    this.sub = h('div', { class: 'host-sub' });
    this.chips = h('div', { class: 'host-chips' });
    this.badge = statusBadge(host);
    this.seen = h('div', { class: 'host-seen' });
    this.os = h('div', { class: 'host-os' });
    this.uptime = h('span', { class: 'value' });
    this.uptimeCell = h('div', { class: 'host-uptime' }, h('span', { class: 'cell-label' }, 'Up '), this.uptime);
    this.cpu = metricCell('CPU', 'cpu');
    this.mem = metricCell('Memory', 'mem');
    this.disk = diskCell();
    this.el = h(
      'li',
      { class: 'host', 'data-testid': 'host-row', 'data-host-id': host.id },
      h('div', { class: 'host-main' }, this.name, this.sub, this.chips),
      h('div', { class: 'host-status' }, this.badge, this.seen),
      h('div', { class: 'host-system' }, this.os, this.uptimeCell),
      this.cpu.el,
      this.mem.el,
      this.disk.el,
    );
  }

  update(host, stats, sectionName) {
    const state = hostState(host);
    this.el.dataset.state = state;
    setText(this.name, displayName(host));
    setText(
      this.sub,
      [host.name && host.name !== host.hostname ? host.hostname : null, host.ip_address, sectionName]
        .filter(Boolean)
        .join(' · '),
    );
    if (this.labelsKey !== JSON.stringify(host.labels ?? {})) {
      this.labelsKey = JSON.stringify(host.labels ?? {});
      replace(this.chips, labelChips(host.labels));
    }
    updateBadge(this.badge, host);
    setText(
      this.seen,
      state === 'online' ? '' : host.last_seen ? `seen ${fmt.ago(Date.parse(host.last_seen))}` : 'no data yet',
    );
    setText(this.os, host.os || stats.os || (host.agent_version ? 'Unknown OS' : 'No agent'));
    const fresh = state === 'online' || state === 'stale';
    const uptime = fresh && stats.uptime != null;
    setText(this.uptime, uptime ? fmt.duration(stats.uptime) : '');
    this.uptimeCell.hidden = !uptime;
    this.fresh = fresh;
    this.cpu.update(fresh ? stats.cpu : null, fresh ? stats.cpuSpark : []);
    this.mem.update(fresh ? stats.mem : null, fresh ? stats.memSpark : []);
    this.disk.update(fresh ? stats.fullestDisk : null);
  }

  redrawSparks(stats) {
    this.cpu.draw(this.fresh ? stats.cpuSpark : []);
    this.mem.draw(this.fresh ? stats.memSpark : []);
  }
}

function metricCell(label, id) {
  const value = h('span', { class: 'value' });
  const canvas = h('canvas', { class: 'spark', 'aria-hidden': 'true' });
  const el = h('div', { class: `metric metric-${id}` }, h('span', { class: 'cell-label' }, label), value, canvas);
  let color = null;
  const draw = (buckets) => {
    const now = Date.now();
    drawSparkline(canvas, sparkPoints(buckets), {
      from: now - SPARK_WINDOW,
      to: now,
      color: color ?? sparkColor('ok'),
    });
  };
  return {
    el,
    draw,
    update(v, buckets) {
      setText(value, v == null ? '—' : fmt.percent(v));
      el.dataset.level = v == null ? 'none' : level(v);
      color = sparkColor(v == null ? 'ok' : level(v));
      draw(buckets);
    },
  };
}

function diskCell() {
  const value = h('span', { class: 'value' });
  const fill = h('span', { class: 'bar-fill' });
  const mount = h('span', { class: 'disk-mount' });
  const el = h(
    'div',
    { class: 'metric metric-disk disk' },
    h('span', { class: 'cell-label' }, 'Disk'),
    value,
    h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
    mount,
  );
  return {
    el,
    update(disk) {
      setText(value, disk ? fmt.percent(disk[1]) : '—');
      setText(mount, disk ? disk[0] : '');
      el.dataset.level = disk ? level(disk[1]) : 'none';
      fill.style.width = `${disk ? Math.min(100, disk[1]) : 0}%`;
    },
  };
}
