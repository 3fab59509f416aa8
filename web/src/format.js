// Number, size, rate, duration and time formatting for people.

const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

const strip = (s) => s.replace(/\.?0+$/, '');

/** Digits that read well: about three significant ones, none after the point above 100. */
function trim(v) {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return strip(v.toFixed(1));
  if (a >= 0.01) return strip(v.toFixed(2));
  return String(Number(v.toPrecision(2)));
}

export function bytes(v) {
  if (!Number.isFinite(v)) return '—';
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < IEC.length - 1) {
    x /= 1024;
    i++;
  }
  return `${trim(x)} ${IEC[i]}`;
}

export const rate = (v) => (Number.isFinite(v) ? `${bytes(v)}/s` : '—');

export function percent(v) {
  if (!Number.isFinite(v)) return '—';
  if (v === 0) return '0%';
  return `${Math.abs(v) < 10 ? v.toFixed(1) : v.toFixed(0)}%`;
}

export const celsius = (v) => (Number.isFinite(v) ? `${v.toFixed(1)} °C` : '—');

export function number(v) {
  if (!Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toPrecision(4);
  return trim(v);
}

/** Short times with their fractions ("0.0012 s"), long ones as a duration. */
export const seconds = (v) => (Number.isFinite(v) && Math.abs(v) < 60 ? `${trim(v)} s` : duration(v));

/** 93784 → "1 d 2 h", 5000 → "1 h 23 min", 42 → "42 s". */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  if (d > 0) return hh ? `${d} d ${hh} h` : `${d} d`;
  if (hh > 0) return mm ? `${hh} h ${mm} min` : `${hh} h`;
  if (mm > 0) return `${mm} min`;
  return `${s} s`;
}

/** How long ago a time was, in its largest unit: "12 s ago", "3 h ago". */
export function ago(ms, now = Date.now()) {
  if (!Number.isFinite(ms)) return 'never';
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 5) return 'just now';
  for (const [n, unit] of [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ]) {
    if (s >= n) return `${Math.floor(s / n)} ${unit} ago`;
  }
  return 'just now';
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

export const time = (ms) => (Number.isFinite(ms) ? timeFmt.format(ms) : '—');
export const dateTime = (ms) => (Number.isFinite(ms) ? dateTimeFmt.format(ms) : '—');

/** Picks a formatter from a metric's name, by the unit its suffix names. */
export function formatterFor(name, kind) {
  if (kind === 'rate') return rate;
  if (name.endsWith('_percent')) return percent;
  if (name.endsWith('_bytes') || name.endsWith('_bytes_total')) return bytes;
  if (name.endsWith('_celsius')) return celsius;
  if (name.endsWith('_seconds')) return seconds;
  return number;
}

/** "a=1, b=2" for a label object, sorted by key. */
export function labelText(labels) {
  return Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(', ');
}
