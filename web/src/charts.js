// Time charts on uPlot (the global `uPlot`, loaded as a classic script), and
// the fleet's tiny canvas sparklines.

const charts = new Set();
const MAX_LEGEND = 12; // more series than this make a legend taller than its chart

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function theme() {
  return {
    text: cssVar('--fg-muted'),
    grid: cssVar('--chart-grid'),
    colors: Array.from({ length: 8 }, (_, i) => cssVar(`--chart-${i + 1}`)),
    font: `12px ${cssVar('--font')}`,
  };
}

let sparkColors = null;

// Colours come from CSS variables: follow the system's light/dark switch.
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  sparkColors = null;
  for (const chart of charts) chart.rebuild();
});

/**
 * A responsive uPlot time chart.
 *   labels:  the series' names (the x column is implied)
 *   format:  value → text, for the y axis and the legend
 *   yRange:  'percent' (0..100), 'zero' (0..max) or 'auto'
 *   zoom:    (fromMs, toMs) => void; enables drag-to-zoom
 *   sync:    a cursor sync key shared by charts that move together
 */
export class TimeChart {
  #plot = null;
  #data = [[]];
  #labels = [];
  #window = null;
  #resize;

  constructor(target, { labels = [], format, yRange = 'auto', zoom = null, sync = null, height = 200 }) {
    this.target = target;
    this.options = { format, yRange, zoom, sync, height };
    this.#labels = labels;
    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(target);
    charts.add(this);
    this.rebuild();
  }

  /** The x range shown, [fromMs, toMs], or null to fit the data. */
  setWindow(fromMs, toMs) {
    this.#window = fromMs == null ? null : [fromMs / 1000, toMs / 1000];
  }

  /** New data in uPlot's layout; rebuilds the plot when the series changed. */
  setData(data, labels = this.#labels) {
    this.#data = data;
    if (labels.length !== this.#labels.length || labels.some((l, i) => l !== this.#labels[i])) {
      this.#labels = labels;
      this.rebuild();
    } else {
      this.#plot.setData(data);
    }
  }

  rebuild() {
    this.#plot?.destroy();
    const fits = this.#data.length === this.#labels.length + 1;
    this.#plot = new uPlot(this.#opts(), fits ? this.#data : [[], ...this.#labels.map(() => [])], this.target);
  }

  destroy() {
    charts.delete(this);
    this.#resize.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }

  #fit() {
    const width = Math.floor(this.target.clientWidth);
    if (this.#plot && width > 0 && width !== this.#plot.width) {
      this.#plot.setSize({ width, height: this.options.height });
    }
  }

  #opts() {
    const { format, yRange, zoom, sync, height } = this.options;
    const t = theme();
    const axis = {
      stroke: t.text,
      font: t.font,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1, size: 4 },
    };
    const single = this.#labels.length === 1;
    return {
      width: Math.max(100, Math.floor(this.target.clientWidth)),
      height,
      legend: { show: this.#labels.length > 0 && this.#labels.length <= MAX_LEGEND },
      cursor: {
        drag: { x: !!zoom, y: false, setScale: false },
        sync: sync ? { key: sync } : undefined,
        points: { size: 7 },
      },
      scales: {
        x: { time: true, range: (u, min, max) => this.#window ?? [min, max] },
        y: { range: yScale(yRange) },
      },
      axes: [
        { ...axis, space: 58, incrs: TIME_INCRS, values: timeTicks, size: 30 },
        { ...axis, values: (u, splits) => splits.map(format), size: axisWidth },
      ],
      series: [
        {},
        ...this.#labels.map((label, i) => ({
          label,
          stroke: t.colors[i % t.colors.length],
          fill: single ? `${t.colors[0]}22` : undefined, // the --chart-N colours are #rrggbb
          width: 1.5,
          spanGaps: !zoom, // live charts bridge a late sample; history shows its gaps (see breakGaps)
          // Away from the cursor the legend tells the newest value.
          value: (u, v, sidx, idx) => {
            const shown = idx == null ? newest(u.data[sidx]) : v;
            return shown == null ? '—' : format(shown);
          },
        })),
      ],
      hooks: zoom ? { setSelect: [(u) => this.#selected(u)] } : {},
    };
  }

  #selected(u) {
    const { left, width } = u.select;
    if (width < 4) return;
    const from = u.posToVal(left, 'x');
    const to = u.posToVal(left + width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (!Number.isFinite(from) || !Number.isFinite(to)) return; // no scale yet: nothing drawn
    this.#window = [from, to]; // shown at once, before the finer data arrives
    u.setScale('x', { min: from, max: to });
    this.options.zoom(Math.round(from * 1000), Math.round(to * 1000));
  }
}

// Tick steps in seconds. Without 15 s and 30 s steps, a five-minute window
// gets a tick a minute even on a phone, and seconds only show when zoomed in.
const TIME_INCRS = [
  1, 2, 5, 10, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 259200, 604800, 1209600,
];
const tickTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const tickSeconds = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const tickDate = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

/** x tick labels: dates for day steps and at midnight, else times (with seconds below a minute). */
function timeTicks(u, splits, axisIdx, space, incr) {
  return splits.map((sec) => {
    const d = new Date(sec * 1000);
    const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
    if (incr >= 86400 || (midnight && incr >= 3600)) return tickDate.format(d);
    return (incr < 60 ? tickSeconds : tickTime).format(d);
  });
}

function newest(values) {
  for (let i = (values?.length ?? 0) - 1; i >= 0; i--) if (values[i] != null) return values[i];
  return null;
}

function yScale(kind) {
  if (kind === 'percent') return (u, min, max) => [0, Math.max(100, max ?? 0)];
  if (kind === 'zero') return (u, min, max) => [0, max > 0 ? max * 1.15 : 1];
  return (u, min, max) => {
    if (min == null) return [0, 1];
    const pad = Math.max((max - min) * 0.15, Math.abs(max) * 0.02, 1);
    return [Math.floor(min - pad), Math.ceil(max + pad)];
  };
}

/** Room for the widest tick label, measured roughly in 7 px characters. */
const axisWidth = (u, values) => (values ? Math.max(40, ...values.map((v) => String(v).length * 7 + 14)) : 48);

// Sparkline sizes are watched rather than read at each drawing: reading
// clientWidth between DOM writes would lay the page out once per row.
const sparkSizes = new WeakMap();
const sparkObserver = new ResizeObserver((entries) => {
  for (const e of entries) sparkSizes.set(e.target, { width: e.contentRect.width, height: e.contentRect.height });
});

function sparkSize(canvas) {
  let size = sparkSizes.get(canvas);
  if (!size) {
    sparkObserver.observe(canvas);
    size = { width: canvas.clientWidth, height: canvas.clientHeight };
    sparkSizes.set(canvas, size);
  }
  return size;
}

/**
 * Draws a sparkline of [[ms, value], ...] over [from, to] into a canvas,
 * scaled from `min` to `max` (max grows to fit the data).
 */
export function drawSparkline(canvas, points, { from, to, min = 0, max = 100, color }) {
  const dpr = window.devicePixelRatio || 1;
  const { width: w, height: hgt } = sparkSize(canvas);
  if (!w || !hgt) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);
  const visible = points.filter(([ms]) => ms >= from && ms <= to);
  if (visible.length < 2) return;

  const top = Math.max(max, ...visible.map(([, v]) => v));
  const x = (ms) => ((ms - from) / (to - from)) * (w - 2) + 1;
  const y = (v) => hgt - 1.5 - ((v - min) / (top - min || 1)) * (hgt - 3);

  ctx.beginPath();
  visible.forEach(([ms, v], i) => (i ? ctx.lineTo(x(ms), y(v)) : ctx.moveTo(x(ms), y(v))));
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.stroke();

  ctx.lineTo(x(visible.at(-1)[0]), hgt);
  ctx.lineTo(x(visible[0][0]), hgt);
  ctx.closePath();
  ctx.globalAlpha = 0.15;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
}

/** The sparkline colour for a level: 'ok', 'warn' or 'bad'. */
export function sparkColor(level) {
  sparkColors ??= { ok: cssVar('--chart-1'), warn: cssVar('--warn'), bad: cssVar('--bad') };
  return sparkColors[level] ?? sparkColors.ok;
}
