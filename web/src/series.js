// Time-series bookkeeping shared by the pages: series identity, counter
// rates, the rolling window behind live charts, and joining query results
// into the column layout uPlot draws.

/** A stable identity for one series: category, name and sorted labels. */
export function seriesKey(category, name, labels = {}) {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
  return `${category}/${name}{${sorted}}`;
}

export const metricKey = (m) => seriesKey(m.metric_type, m.metric_name, m.labels);

/**
 * Turns counter samples into per-second rates from consecutive samples. A
 * counter that went down was restarted: its new value counts from zero,
 * as the server's agg=rate does.
 */
export class RateTracker {
  #last = new Map();

  /** The rate since this series' previous sample, or null for the first one. */
  next(key, ms, value) {
    const prev = this.#last.get(key);
    this.#last.set(key, { ms, value });
    if (!prev || ms <= prev.ms) return null;
    const increase = value >= prev.value ? value - prev.value : value;
    return (increase * 1000) / (ms - prev.ms);
  }
}

/**
 * The last `windowSec` seconds of several series at 1 s resolution, kept as
 * columns: one row per second that has data, one column per series.
 */
export class RollingFrame {
  xs = [];
  #cols = new Map();

  constructor(windowSec) {
    this.windowSec = windowSec;
  }

  get keys() {
    return [...this.#cols.keys()];
  }

  add(key, ms, value) {
    const t = Math.round(ms / 1000);
    let col = this.#cols.get(key);
    if (!col) {
      col = new Array(this.xs.length).fill(null);
      this.#cols.set(key, col);
    }
    // Samples nearly always arrive in order: look for the row from the end.
    let i = this.xs.length - 1;
    while (i >= 0 && this.xs[i] > t) i--;
    if (i < 0 || this.xs[i] !== t) {
      i++;
      this.xs.splice(i, 0, t);
      for (const c of this.#cols.values()) c.splice(i, 0, null);
    }
    col[i] = value;
  }

  /** The newest row's time in seconds, or undefined. */
  get newest() {
    return this.xs.at(-1);
  }

  /** Drops the rows older than the window that ends at `endSec`. */
  trim(endSec) {
    let n = 0;
    while (n < this.xs.length && this.xs[n] < endSec - this.windowSec) n++;
    if (!n) return;
    this.xs.splice(0, n);
    for (const c of this.#cols.values()) c.splice(0, n);
  }

  /** Copies in uPlot's layout: [xs, col(keys[0]), col(keys[1]) ...]. */
  data(keys) {
    return [this.xs.slice(), ...keys.map((k) => this.#cols.get(k)?.slice() ?? this.xs.map(() => null))];
  }

  /** How many values one series holds. */
  count(key) {
    return this.#cols.get(key)?.reduce((n, v) => n + (v === null ? 0 : 1), 0) ?? 0;
  }
}

/**
 * Joins query series ([[ms, v], ...] each) on their timestamps:
 * [xs in seconds, values of series 0 (null where it has none), ...].
 */
export function joinSeries(seriesPoints) {
  const times = new Set();
  for (const points of seriesPoints) for (const [ms] of points) times.add(ms);
  const xs = [...times].sort((a, b) => a - b);
  const row = new Map(xs.map((ms, i) => [ms, i]));
  const cols = seriesPoints.map((points) => {
    const col = new Array(xs.length).fill(null);
    for (const [ms, v] of points) col[row.get(ms)] = v;
    return col;
  });
  return [xs.map((ms) => ms / 1000), ...cols];
}

/**
 * Breaks the lines where data is missing: inserts a row of nulls wherever
 * two neighbouring rows are further apart than the usual spacing allows
 * (three times the median spacing, and at least two `minSec`).
 */
export function breakGaps([xs, ...cols], minSec) {
  const diffs = xs
    .slice(1)
    .map((x, i) => x - xs[i])
    .sort((a, b) => a - b);
  if (!diffs.length) return [xs, ...cols];
  const limit = Math.max(2 * minSec, 3 * diffs[Math.floor(diffs.length / 2)]);
  const out = [[], ...cols.map(() => [])];
  xs.forEach((x, i) => {
    if (i > 0 && x - xs[i - 1] > limit) {
      out[0].push(xs[i - 1] + limit / 2);
      for (let c = 1; c < out.length; c++) out[c].push(null);
    }
    out[0].push(x);
    cols.forEach((col, c) => out[c + 1].push(col[i]));
  });
  return out;
}

const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map(
  (s) => s * 1000,
);

/** The bucket size (ms) for a span: the first round step giving at most about 400 points. */
export function pickStep(spanMs) {
  const raw = spanMs / 400;
  return STEPS.find((s) => s >= raw) ?? Math.ceil(raw / 86400e3) * 86400e3;
}
