// The host page's chart panels: which series each one draws, how it names
// and formats them, and the one-line summary in its header.

import * as fmt from './format.js';

const byNumber = (a, b) => a.localeCompare(b, undefined, { numeric: true });

/** The newest value of the series selected by (category, name, test) in a Map key → metric. */
function latestOf(latest, category, name, test = () => true) {
  return [...latest.values()].filter((m) => m.metric_type === category && m.metric_name === name && test(m.labels));
}

/** "read 1.2 MiB/s · write 80 KiB/s": the current rates summed over devices. */
function rateSummary(rates, a, b, words = [a, b]) {
  if (!rates.length) return '';
  const sum = (prefix) => rates.filter((r) => r.name.startsWith(prefix)).reduce((n, r) => n + r.value, 0);
  return `${words[0]} ${fmt.rate(sum(a))} · ${words[1]} ${fmt.rate(sum(b))}`;
}

const noCore = (labels) => !('core' in labels);

export const PANELS = [
  {
    id: 'cpu',
    title: 'CPU',
    category: 'cpu',
    names: ['usage_percent'],
    test: noCore,
    label: () => 'total',
    format: fmt.percent,
    y: 'percent',
    summary: (latest) => {
      const [total] = latestOf(latest, 'cpu', 'usage_percent', noCore);
      const load = ['load1', 'load5', 'load15'].map((n) => latestOf(latest, 'cpu', n)[0]?.value);
      const loadText = load.every(Number.isFinite) ? ` · load ${load.map((v) => v.toFixed(2)).join(' ')}` : '';
      return total ? `${fmt.percent(total.value)}${loadText}` : '';
    },
  },
  {
    id: 'cores',
    title: 'CPU per core',
    category: 'cpu',
    names: ['usage_percent'],
    test: (labels) => 'core' in labels,
    label: (labels) => `core ${labels.core}`,
    format: fmt.percent,
    y: 'percent',
    summary: (latest) => {
      const n = latestOf(latest, 'cpu', 'usage_percent', (l) => 'core' in l).length;
      return n ? `${n} core${n === 1 ? '' : 's'}` : '';
    },
  },
  {
    id: 'memory',
    title: 'Memory',
    category: 'ram',
    names: ['usage_percent'],
    label: () => 'used',
    format: fmt.percent,
    y: 'percent',
    summary: (latest) => {
      const [used] = latestOf(latest, 'ram', 'used_bytes');
      const [total] = latestOf(latest, 'ram', 'total_bytes');
      return used && total ? `${fmt.bytes(used.value)} of ${fmt.bytes(total.value)}` : '';
    },
  },
  {
    id: 'disk',
    title: 'Disk use',
    category: 'disk',
    names: ['used_percent'],
    label: (labels) => labels.mountpoint ?? labels.device ?? 'disk',
    format: fmt.percent,
    y: 'percent',
    summary: (latest) => {
      const disks = latestOf(latest, 'disk', 'used_percent');
      if (!disks.length) return '';
      const full = disks.reduce((a, b) => (b.value > a.value ? b : a));
      return `fullest ${full.labels.mountpoint ?? full.labels.device} ${fmt.percent(full.value)}`;
    },
  },
  {
    id: 'diskio',
    title: 'Disk I/O',
    category: 'diskio',
    names: ['read_bytes_total', 'write_bytes_total'],
    counter: true,
    label: (labels, name) => `${labels.device ?? 'disk'} ${name.startsWith('read') ? 'read' : 'write'}`,
    format: fmt.rate,
    y: 'zero',
    summary: (latest, rates) => rateSummary(rates, 'read', 'write'),
  },
  {
    id: 'network',
    title: 'Network',
    category: 'network',
    names: ['receive_bytes_total', 'transmit_bytes_total'],
    counter: true,
    label: (labels, name) => `${labels.interface ?? 'net'} ${name.startsWith('receive') ? 'rx' : 'tx'}`,
    format: fmt.rate,
    y: 'zero',
    summary: (latest, rates) => rateSummary(rates, 'receive', 'transmit', ['in', 'out']),
  },
  {
    id: 'temps',
    title: 'Temperatures',
    category: 'sensors',
    names: ['temperature_celsius', 'thermal_zone_celsius'],
    label: (labels, name) =>
      name === 'thermal_zone_celsius'
        ? `zone ${labels.zone ?? ''} ${labels.type ?? ''}`.trim()
        : labels.label || [labels.chip ?? labels.device, labels.sensor].filter(Boolean).join(' '),
    format: fmt.celsius,
    y: 'auto',
    empty: 'This host reports no temperature sensors.',
    summary: (latest) => {
      const temps = [...latest.values()].filter(
        (m) => m.metric_type === 'sensors' && m.metric_name.endsWith('_celsius'),
      );
      return temps.length ? `hottest ${fmt.celsius(Math.max(...temps.map((m) => m.value)))}` : '';
    },
  },
];

/** Does a series (category, name, labels) belong on this panel? */
export function belongs(panel, category, name, labels) {
  return category === panel.category && panel.names.includes(name) && (!panel.test || panel.test(labels));
}

/** The query selecting a panel's series. */
export function panelQuery(panel) {
  const q = { host: null, category: panel.category };
  if (panel.names.length === 1) q.name = panel.names[0];
  else q.name_re = panel.names.join('|');
  return q;
}

/** Orders series keys by their legend labels, numbers numerically ("core 2" before "core 10"). */
export function sortByLabel(keys, labelOf) {
  return keys.sort((a, b) => byNumber(labelOf.get(a), labelOf.get(b)));
}
