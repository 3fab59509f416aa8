#!/usr/bin/env node
// The dashboard's browser test: real ward-server and ward-agent binaries on
// loopback, the dashboard in headless Chromium driven by playwright-core.
//
//   node tests/e2e/dashboard.test.mjs [--build DIR] [--artifacts DIR] [--keep]
//
// It logs in, sees the local agent online, watches a live chart grow, zooms
// the history, runs diagnostics on the agent, claims a pending agent and
// logs out, saving a screenshot at each step and the binaries' logs into
// the artifacts directory. It is its
// own harness: it picks free ports, makes a temporary directory, starts and
// stops everything, and checks the binaries' stderr for sanitizer reports.
// Exit status: 0 when every step passed, 1 otherwise. See README.md.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---- options ------------------------------------------------------------------

function parseArgs(argv) {
  const opts = { build: null, artifacts: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--build') opts.build = value();
    else if (arg.startsWith('--build=')) opts.build = arg.slice(8);
    else if (arg === '--artifacts') opts.artifacts = value();
    else if (arg.startsWith('--artifacts=')) opts.artifacts = arg.slice(12);
    else if (arg === '--keep') opts.keep = true;
    else if (arg === '-h' || arg === '--help') usage();
    else usage(`unknown argument: ${arg}`);
  }
  opts.build = path.resolve(opts.build ?? path.join(repoRoot, 'build-test'));
  opts.artifacts = path.resolve(opts.artifacts ?? path.join(opts.build, 'e2e-artifacts'));
  return opts;
}

function usage(error) {
  const text = `Usage: node tests/e2e/dashboard.test.mjs [--build DIR] [--artifacts DIR] [--keep]
  --build DIR      where ward-server and ward-agent are (default: build-test)
  --artifacts DIR  where screenshots and logs go (default: BUILD/e2e-artifacts)
  --keep           keep the temporary directory (database, agents' state)
Environment: CHROMIUM (default /usr/bin/chromium), ASAN_OPTIONS, UBSAN_OPTIONS.`;
  if (error) {
    console.error(`dashboard.test: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const opts = parseArgs(process.argv.slice(2));
const T0 = Date.now();
const secs = (ms) => (ms / 1000).toFixed(1);
const log = (msg) => console.log(`[${secs(Date.now() - T0).padStart(5)} s] ${msg}`);

// Timeouts (ms). Generous: the binaries may be ASan builds on a busy machine.
const UI_TIMEOUT = 20_000; // something the page does by itself
const DATA_TIMEOUT = 30_000; // something that needs an agent's data
const CLAIM_TIMEOUT = 60_000; // a claimed agent picks its key up and sends
const STOP_TIMEOUT = 30_000; // SIGTERM to exit, then SIGKILL
const TOTAL_TIMEOUT = 110_000; // the whole flow, before teardown

// ---- small helpers ------------------------------------------------------------

class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls fn() until it returns a truthy value; fails after `timeout` naming `what`. */
async function waitFor(fn, { what, timeout = UI_TIMEOUT, interval = 200 }) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      fail(`timed out after ${secs(timeout)} s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await sleep(interval);
  }
}

/** Waits for a locator to reach `state`; fails naming `what`. */
async function see(locator, what, { timeout = UI_TIMEOUT, state = 'visible' } = {}) {
  try {
    await locator.waitFor({ timeout, state });
  } catch (err) {
    fail(`${what}: not ${state} within ${secs(timeout)} s (${err.message.split('\n')[0]})`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const randomToken = (bytes) => crypto.randomBytes(bytes).toString('base64url');

function readTrimmed(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function tail(file, lines = 20) {
  const text = readTrimmed(file);
  return text ? text.split('\n').slice(-lines).join('\n') : '(empty)';
}

// ---- processes ----------------------------------------------------------------

const sanitizerEnv = (() => {
  const env = { ...process.env };
  const asan = env.ASAN_OPTIONS ?? '';
  if (!/(^|:)detect_leaks=/.test(asan)) env.ASAN_OPTIONS = asan ? `${asan}:detect_leaks=1` : 'detect_leaks=1';
  env.UBSAN_OPTIONS ??= 'print_stacktrace=1';
  return env;
})();

/** A binary running with stdout and stderr in files of the artifacts directory. */
class Proc {
  constructor(name, bin, args) {
    if (tearingDown) fail(`not starting ${name}: the test is stopping`);
    this.name = name;
    this.stdoutPath = path.join(opts.artifacts, `${name}.stdout.log`);
    this.stderrPath = path.join(opts.artifacts, `${name}.stderr.log`);
    const out = fs.openSync(this.stdoutPath, 'w');
    const err = fs.openSync(this.stderrPath, 'w');
    this.code = null;
    this.signal = null;
    this.killed = false;
    this.child = spawn(bin, args, { stdio: ['ignore', out, err], env: sanitizerEnv });
    fs.closeSync(out);
    fs.closeSync(err);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.code = code;
        this.signal = signal;
        resolve();
      });
      this.child.on('error', (e) => {
        this.spawnError = e;
        this.code = -1;
        resolve();
      });
    });
    procs.push(this);
  }

  get running() {
    return this.code === null && this.signal === null;
  }

  /** SIGTERM, then SIGKILL after STOP_TIMEOUT. Returns a problem, or null when it exited cleanly. */
  async stop() {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT, 'timeout'));
      if ((await Promise.race([this.exited, timer])) === 'timeout') {
        this.killed = true;
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    if (this.spawnError) return `${this.name} could not be started: ${this.spawnError.message}`;
    if (this.killed) return `${this.name} did not exit within ${secs(STOP_TIMEOUT)} s of SIGTERM (killed)`;
    if (this.signal) return `${this.name} died of ${this.signal}`;
    if (this.code !== 0) return `${this.name} exited with status ${this.code}`;
    return null;
  }
}

const procs = [];
let tearingDown = false;

// Interrupted (^C, or a harness's timeout): leave no binary running.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const p of procs) if (p.running) p.child.kill('SIGKILL');
    console.error(`dashboard.test: ${sig}, stopped`);
    process.exit(1);
  });
}

/**
 * The server's access log: responses with a 5xx status (a server bug in this
 * flow), and apart from them the 503s it answered once stopping (documented:
 * a long poll still waiting at shutdown, such as an agent's GET
 * /api/v1/agent/command, is told so; a suspended request does not notice
 * that its client has gone before that).
 */
function serverErrors(proc) {
  const out = [];
  const atStop = [];
  const text = readTrimmed(proc.stderrPath) ?? '';
  const stopping = /^(\S+) level=info msg="stopping"/m.exec(text);
  const stopMs = stopping ? Date.parse(stopping[1]) : Infinity;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const r = JSON.parse(line);
      if (r.status < 500) continue;
      const what = `${r.status} ${r.method} ${r.path}`;
      // The access log's time is when the request came (to the ms); allow for rounding.
      if (r.status === 503 && Date.parse(r.time) + r.duration_ms >= stopMs - 50) atStop.push(what);
      else out.push(what);
    } catch {
      // Not an access-log line.
    }
  }
  return { out, atStop };
}

/** Log lines at level error (text or JSON format), for the report. */
const errorLines = (proc) =>
  (readTrimmed(proc.stderrPath) ?? '').split('\n').filter((l) => /level=error|"level":"error"/.test(l));

const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/;

function sanitizerReports(proc) {
  const text = readTrimmed(proc.stderrPath) ?? '';
  const lines = text.split('\n');
  const hits = [];
  lines.forEach((line, i) => {
    if (SANITIZER.test(line)) hits.push(lines.slice(i, i + 12).join('\n'));
  });
  return hits;
}

// ---- the run ------------------------------------------------------------------

const SCREENS = { width: 1440, height: 900 };
const steps = []; // { n, name, ok, ms, error }
const consoleErrors = [];
const expectedConsole = [];
const pageErrors = [];
let page = null;
let browser = null;
let shots = 0;
let current = null; // the step under way

/**
 * A screenshot of the page, or of one element's box on the full page when
 * `locator` is given (so that the sticky top bar does not cover it).
 */
async function screenshot(name, { fullPage = true, locator = null } = {}) {
  const file = path.join(opts.artifacts, `${String(++shots).padStart(2, '0')}-${name}.png`);
  if (locator) {
    const clip = await locator.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height };
    });
    await page.screenshot({ path: file, fullPage: true, clip });
  } else {
    await page.screenshot({ path: file, fullPage });
  }
  return file;
}

/**
 * Waits (up to 5 s: charts and sparklines resize on ResizeObserver) for the
 * page to fit the viewport's width; returns null when it does, else what
 * sticks out.
 */
async function overflow() {
  const fits = await page
    .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth + 1, null, { timeout: 5000 })
    .then(() => true)
    .catch(() => false);
  if (fits) return null;
  const wide = await page.evaluate(() => {
    const w = window.innerWidth;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.right > w + 1 && out.length < 8)
        out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(r.right)}`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: w, out };
  });
  return `scrollWidth ${wide.scrollWidth} > innerWidth ${wide.innerWidth}; widest: ${wide.out.join(', ')}`;
}

async function step(n, name, fn) {
  const t = Date.now();
  current = `step ${n} (${name})`;
  try {
    await fn();
    if (pageErrors.length) fail(`the page threw: ${pageErrors.join(' | ')}`);
  } catch (err) {
    const ms = Date.now() - t;
    const message = err instanceof Failure ? err.message : (err.stack ?? String(err));
    steps.push({ n, name, ok: false, ms, error: message });
    console.log(`FAIL step ${n}: ${name} (${secs(ms)} s): ${message.split('\n')[0]}`);
    throw err;
  }
  const ms = Date.now() - t;
  steps.push({ n, name, ok: true, ms });
  console.log(`ok   step ${n}: ${name} (${secs(ms)} s)`);
}

function cleanArtifacts() {
  fs.mkdirSync(opts.artifacts, { recursive: true });
  for (const f of fs.readdirSync(opts.artifacts)) {
    if (/^\d\d-.*\.png$|^(server|agent\d)\.std(out|err)\.log$|^(console|summary)\.txt$/.test(f))
      fs.rmSync(path.join(opts.artifacts, f), { force: true });
  }
}

async function main() {
  const bins = {
    server: path.join(opts.build, 'ward-server'),
    agent: path.join(opts.build, 'ward-agent'),
  };
  for (const b of Object.values(bins)) if (!fs.existsSync(b)) fail(`${b} is missing: build first (--build DIR)`);
  const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(chromiumPath)) fail(`${chromiumPath} is missing: install chromium or set CHROMIUM`);
  let playwright;
  try {
    playwright = createRequire(path.join(repoRoot, 'web', 'package.json'))('playwright-core');
  } catch (err) {
    fail(`playwright-core is not installed in web/node_modules (make web): ${err.message}`);
  }

  cleanArtifacts();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ward-e2e-'));
  const adminToken = randomToken(24);
  const enrollToken = randomToken(24);
  let base = null;
  let server = null;
  const state1 = path.join(tmp, 'a1');
  const state2 = path.join(tmp, 'a2');
  // Every collector the charts draw runs each second, and reports go out each second.
  const agentArgs = (stateDir) => [
    ...['-a', base, '--state-dir', stateDir, '--listen', '127.0.0.1:0', '-r', '1'],
    ...['cpu', 'memory', 'network', 'diskio', 'disk'].flatMap((c) => [`--collectors.${c}.interval`, '1s']),
  ];
  const api = async (route) => {
    const res = await fetch(base + route, { headers: { Authorization: `Bearer ${adminToken}` } });
    return { status: res.status, body: await res.json().catch(() => null) };
  };

  let agent1 = null;
  const run = async () => {
    // ---- setup: server, agent 1, browser ----
    await step(0, 'start ward-server, agent 1 and chromium', async () => {
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        base = `http://127.0.0.1:${port}`;
        server = new Proc('server', bins.server, [
          ...['-a', `127.0.0.1:${port}`, '-d', path.join(tmp, 'ward.db')],
          ...['--admin-token', adminToken, '--enroll-token', enrollToken],
        ]);
        const up = await waitFor(
          async () => {
            if (!server.running) return 'exited';
            const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1000) });
            return res.ok && 'up';
          },
          { what: 'ward-server to answer GET /health', timeout: DATA_TIMEOUT },
        );
        if (up === 'up') break;
        // Another process may have taken the port in between: try another.
        procs.splice(procs.indexOf(server), 1);
        if (attempt === 3 || !/address already in use/i.test(tail(server.stderrPath)))
          fail(`ward-server exited at start (status ${server.code}):\n${tail(server.stderrPath)}`);
      }
      log(`ward-server on ${base}, database in ${tmp}`);
      new Proc('agent1', bins.agent, [...agentArgs(state1), '--enroll-token', enrollToken]);
      agent1 = await waitFor(() => readTrimmed(path.join(state1, 'agent-id')), {
        what: 'agent 1 to write TMP/a1/agent-id',
        timeout: DATA_TIMEOUT,
      });
      browser = await playwright.chromium.launch({
        executablePath: chromiumPath,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      const context = await browser.newContext({ viewport: SCREENS, baseURL: base });
      page = await context.newPage();
      page.setDefaultTimeout(UI_TIMEOUT);
      page.on('pageerror', (err) => pageErrors.push(err.stack || err.message));
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const text = `${msg.text()} (${msg.location()?.url ?? '?'})`;
        // A 401 is how the page learns that nobody is logged in; a 400 to a
        // command request is the bad argument step 5 sends on purpose.
        if (
          /Failed to load resource: the server responded with a status of 401/.test(msg.text()) ||
          (/Failed to load resource: the server responded with a status of 400/.test(msg.text()) &&
            /\/api\/v1\/hosts\/[^/]+\/commands$/.test(msg.location()?.url ?? ''))
        )
          expectedConsole.push(text);
        else consoleErrors.push(text);
      });
    });

    const testid = (id, extra = '') => `[data-testid="${id}"]${extra}`;
    const rowOf = (id) => page.locator(testid('host-row', `[data-host-id="${id}"]`));

    // ---- 1: login ----
    await step(1, 'log in through the form', async () => {
      await page.goto('/');
      await see(page.locator(testid('login-form')), 'the login form on GET / without a session');
      if (await page.locator(testid('logout')).count()) fail('a logout button shows without a session');
      await page.evaluate(() => {
        window.__wardE2e = 'same document';
      });
      await page.locator(testid('login-token')).fill(adminToken);
      await page.locator(testid('login-submit')).click();
      const after = page.locator(`${testid('logout')}, ${testid('host-row')}`).first();
      await see(after, 'logout or a host-row after login');
      const marker = await page.evaluate(() => window.__wardE2e);
      if (marker !== 'same document') fail('the page reloaded on login');
      if (await page.locator(testid('login-error')).isVisible())
        fail(`login error: ${await page.locator(testid('login-error')).textContent()}`);
      await screenshot('logged-in');
    });

    // ---- 2: the fleet ----
    await step(2, 'fleet shows agent 1 online; 360 px dark layout', async () => {
      const row = rowOf(agent1);
      await see(row, `agent 1's host-row (data-host-id=${agent1})`, { timeout: DATA_TIMEOUT });
      await row
        .locator(testid('status-badge', '[data-status="online"]'))
        .waitFor({ timeout: DATA_TIMEOUT })
        .catch(async () => {
          const status = await row.locator(testid('status-badge')).getAttribute('data-status');
          fail(`agent 1's status-badge stayed "${status}"`);
        });
      await screenshot('fleet-1440');

      await page.setViewportSize({ width: 360, height: 780 });
      await page.emulateMedia({ colorScheme: 'dark' });
      const wide = await overflow();
      await screenshot('fleet-360-dark');
      if (wide) fail(`the fleet overflows at 360 px: ${wide}`);
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize(SCREENS);
    });

    // ---- 3: the host page, live ----
    await step(3, 'host page: the live CPU chart gains points', async () => {
      await rowOf(agent1).locator('a.host-name').click();
      await page.waitForURL(`**/#/host/${agent1}`);
      const live = page.locator(testid('live-cpu', '[data-points]'));
      await see(live, 'live-cpu with data-points');
      await see(page.locator(testid('stream-status', '[data-state="live"]')), 'stream-status data-state=live');
      const before = Number(await live.getAttribute('data-points'));
      log(`live-cpu has ${before} points`);
      await page
        .waitForFunction(
          (n) => Number(document.querySelector('[data-testid="live-cpu"]')?.dataset.points) > n,
          before,
          { timeout: DATA_TIMEOUT },
        )
        .catch(() => fail(`live-cpu stayed at ${before} points: no new points over the stream`));
      log(`live-cpu has ${await live.getAttribute('data-points')} points`);
      await screenshot('host-live');
    });

    // ---- 4: history and zoom ----
    await step(4, 'history: range 1h, drag to zoom, reset', async () => {
      const chart = page.locator(testid('history-chart'));
      /** The history chart's range once it has drawn (not loading). */
      const loaded = async (what) => {
        await page
          .waitForFunction(
            () => {
              const el = document.querySelector('[data-testid="history-chart"]');
              return el && el.dataset.from && el.dataset.to && el.getAttribute('aria-busy') !== 'true';
            },
            null,
            { timeout: DATA_TIMEOUT },
          )
          .catch(() => fail(`the history chart did not finish loading (${what})`));
        const [from, to] = await Promise.all([chart.getAttribute('data-from'), chart.getAttribute('data-to')]);
        return { from: Number(from), to: Number(to) };
      };
      await page.locator(testid('range-1h')).click();
      const full = await loaded('range 1h');
      if (!(full.to - full.from > 3000e3 && full.to - full.from < 4000e3))
        fail(`range 1h gave data-from/data-to ${full.from}..${full.to}`);
      const overlay = chart.locator('.chart-overlay');
      // Over the plot, an overlay would take the drag; and agent 1 has data in the last hour.
      if (await overlay.isVisible()) fail(`the history chart says "${await overlay.textContent()}" for the last hour`);

      const over = chart.locator('.u-over');
      const box = await over.boundingBox();
      if (!box || box.width < 50) fail(`the chart's plot area has no usable size (${JSON.stringify(box)})`);
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width * 0.3, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.45, y, { steps: 5 });
      await page.mouse.move(box.x + box.width * 0.6, y, { steps: 5 });
      await page.mouse.up();
      // Wait on the span, not on any change: the history refreshes itself every minute.
      const span = () => {
        const el = document.querySelector('[data-testid="history-chart"]');
        return Number(el?.dataset.to) - Number(el?.dataset.from);
      };
      await page
        .waitForFunction(`(${span})() < ${0.9 * (full.to - full.from)}`, null, { timeout: UI_TIMEOUT })
        .catch(() => fail('dragging across the chart did not narrow its range'));
      const zoomed = await loaded('zoomed');
      log(`zoomed ${full.from}..${full.to} to ${zoomed.from}..${zoomed.to}`);
      if (!(zoomed.from > full.from && zoomed.to < full.to && zoomed.from < zoomed.to))
        fail(`the zoomed range ${zoomed.from}..${zoomed.to} is not inside ${full.from}..${full.to}`);
      // 30 % to 60 % of the plot: about 0.3 of the span (give or take the axis and rounding).
      const share = (zoomed.to - zoomed.from) / (full.to - full.from);
      if (share < 0.15 || share > 0.45) fail(`the zoomed range is ${share.toFixed(2)} of the full one, not about 0.3`);
      await see(page.locator(testid('reset-zoom')), 'reset-zoom after zooming');
      await screenshot('history-zoomed');

      await page.locator(testid('reset-zoom')).click();
      await page
        .waitForFunction(`(${span})() > ${1.5 * (zoomed.to - zoomed.from)}`, null, { timeout: UI_TIMEOUT })
        .catch(() => fail('reset-zoom did not widen the range'));
      const reset = await loaded('reset');
      if (!(reset.to - reset.from > zoomed.to - zoomed.from && reset.from < zoomed.from && reset.to > zoomed.to))
        fail(`reset-zoom gave ${reset.from}..${reset.to}, not wider than ${zoomed.from}..${zoomed.to}`);
      if (await page.locator(testid('reset-zoom')).isVisible()) fail('reset-zoom still shows after the reset');
      await screenshot('history-reset');
    });

    // ---- 5: diagnostics ----
    await step(5, 'diagnostics: connect, mounts, a bad argument, recent commands', async () => {
      const panel = page.locator(testid('diag-panel'));
      await see(panel, 'the diagnostics panel on the host page');
      const toggle = panel.locator(testid('diag-toggle'));
      if ((await toggle.getAttribute('aria-expanded')) !== 'false') fail('the diagnostics panel starts open');
      await toggle.click();
      await see(panel.locator(testid('diag-form')), 'the diagnostics form once the panel is open');
      const items = panel.locator(testid('diag-item'));
      await see(panel.locator(`${testid('diag-history-body')} ${testid('state-empty')}`), 'no recent commands yet');

      const result = panel.locator(testid('diag-result'));
      const output = result.locator(testid('diag-output'));
      const commandsRoute = `/api/v1/hosts/${agent1}/commands`;
      /** Picks a diagnostic, fills its arguments and presses Run; returns the POST's answer. */
      const run = async (type, args = {}) => {
        await panel.locator(testid('diag-type')).selectOption(type);
        for (const [name, value] of Object.entries(args))
          await panel.locator(testid(`diag-arg-${type}-${name}`)).fill(value);
        const [res] = await Promise.all([
          page.waitForResponse((r) => r.url().endsWith(commandsRoute) && r.request().method() === 'POST'),
          panel.locator(testid('diag-run')).click(),
        ]);
        return { status: res.status(), body: await res.json().catch(() => null) };
      };
      /** Waits for the result to show command id finished; returns its state. */
      const finished = async (id, what) => {
        await page
          .waitForFunction(
            (cid) => {
              const el = document.querySelector('[data-testid="diag-result"]');
              return el?.dataset.commandId === cid && ['done', 'failed', 'expired'].includes(el.dataset.state);
            },
            id,
            { timeout: DATA_TIMEOUT },
          )
          .catch(async () =>
            fail(`${what} did not finish in the panel: ${(await result.textContent())?.replace(/\s+/g, ' ')}`),
          );
        const state = await result.getAttribute('data-state');
        if (state !== 'done') {
          const error = await result.locator(testid('diag-command-error')).textContent();
          fail(`${what} ended ${state}: ${error}`);
        }
        const steps = await result.locator('.diag-step').evaluateAll((els) => els.map((e) => e.dataset.status));
        if (steps.join() !== 'done,done,done') fail(`${what}: the progress reads ${steps.join(' → ')}`);
        return state;
      };
      const runs = async () => (await api(`/api/v1/commands?host_id=${agent1}`)).body?.commands ?? [];

      // connect to the server's own address, from the agent.
      const target = new URL(base).host;
      const connect = await run('connect', { target, timeout: '5' });
      if (connect.status !== 201) fail(`POST ${commandsRoute} (connect) answered ${connect.status}`);
      await finished(connect.body.id, `connect ${target}`);
      const connected = await output.textContent();
      if (!/connected/.test(connected ?? '')) fail(`connect's output does not say connected: ${connected}`);
      const facts = await result.locator(testid('diag-facts')).textContent();
      if (!/Exit code\s*0/.test(facts) || !/Duration/.test(facts)) fail(`connect's facts are "${facts}"`);
      log(`connect: ${connected.trim()}`);

      // mounts: no arguments.
      const mounts = await run('mounts');
      if (mounts.status !== 201) fail(`POST ${commandsRoute} (mounts) answered ${mounts.status}`);
      await finished(mounts.body.id, 'mounts');
      const mounted = (await output.textContent()) ?? '';
      if (!mounted.includes('/')) fail(`the mounts output holds no "/": ${mounted.slice(0, 200)}`);
      const scroll = await output.evaluate((el) => getComputedStyle(el).overflow);
      if (scroll !== 'auto') fail(`the output box does not scroll (overflow: ${scroll})`);
      log(`mounts: ${mounted.split('\n').length} lines`);

      // A bad argument: the server's 400, word for word, and nothing queued.
      const before = (await runs()).length;
      const bad = await run('ping', { target: 'a;b' });
      if (bad.status !== 400) fail(`ping target "a;b" answered ${bad.status}, not 400`);
      const error = panel.locator(testid('diag-error'));
      await see(error, 'the server’s error for ping target "a;b"');
      const shownError = (await error.textContent())?.trim();
      if (shownError !== bad.body?.error) fail(`the panel says "${shownError}", the server said "${bad.body?.error}"`);
      if (!/target/.test(shownError)) fail(`the 400 for ping target "a;b" does not name target: ${shownError}`);
      log(`ping a;b: ${shownError}`);
      const after = (await runs()).length;
      if (after !== before) fail(`a refused ping left ${after - before} command(s) queued`);
      if ((await result.getAttribute('data-command-id')) !== mounts.body.id)
        fail('the result no longer shows the mounts command after a refused request');

      // The recent commands, newest first; one of them shown again on a click.
      await waitFor(async () => (await items.count()) === 2, { what: 'two recent commands in the list' });
      const listed = await items.evaluateAll((els) => els.map((e) => `${e.dataset.type}:${e.dataset.state}`));
      if (listed.join() !== 'mounts:done,connect:done') fail(`the recent commands read ${listed.join(', ')}`);
      await items.nth(1).click();
      await page
        .waitForFunction(
          (cid) => {
            const el = document.querySelector('[data-testid="diag-result"]');
            return el?.dataset.commandId === cid && el.dataset.state === 'done';
          },
          connect.body.id,
        )
        .catch(() => fail('clicking the connect command did not show it'));
      if (!/connected/.test((await output.textContent()) ?? '')) fail('the connect command shows without its output');
      if ((await items.nth(1).getAttribute('aria-current')) !== 'true') fail('the list does not mark the shown command');
      await items.nth(0).click(); // mounts again: the longer output for the screenshots
      await page.waitForFunction(
        (cid) => document.querySelector('[data-testid="diag-result"]')?.dataset.commandId === cid,
        mounts.body.id,
      );
      await screenshot('diagnostics', { locator: panel });

      await page.setViewportSize({ width: 360, height: 780 });
      await page.emulateMedia({ colorScheme: 'dark' });
      const wide = await overflow();
      await screenshot('diagnostics-360-dark', { locator: panel });
      if (wide) fail(`the host page with diagnostics overflows at 360 px: ${wide}`);
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize(SCREENS);
    });

    // ---- 6: claim a pending agent ----
    let agent2 = null;
    await step(6, 'claim the pending agent 2', async () => {
      // Agent 2 starts now, so that its claim-status back-off (2 s doubling to
      // 60 s) is still short when the claim is made.
      new Proc('agent2', bins.agent, [...agentArgs(state2), '--hostname', 'pending-box']);
      const tokenFile = path.join(state2, 'claim-token');
      const claimToken = await waitFor(() => readTrimmed(tokenFile), {
        what: 'agent 2 to register (TMP/a2/claim-token)',
        timeout: DATA_TIMEOUT,
      });
      const mode = fs.statSync(tokenFile).mode & 0o777;
      if (mode !== 0o600) fail(`claim-token has mode ${mode.toString(8)}, not 600`);
      agent2 = readTrimmed(path.join(state2, 'agent-id'));
      if (!agent2) fail('agent 2 has a claim token but no agent-id');
      await waitFor(async () => (await api(`/api/v1/hosts/${agent2}`)).body?.status === 'pending', {
        what: 'the server to list agent 2 as pending',
      });

      await page.locator(testid('nav-fleet')).click();
      await see(page.locator(testid('pending-panel')), 'the pending-panel');
      const pending = page.locator(testid('pending-row', `[data-host-id="${agent2}"]`));
      await see(pending, `agent 2's pending-row (data-host-id=${agent2})`);
      await screenshot('fleet-pending');
      await pending.locator(testid('claim-button')).click();
      await see(page.locator(testid('claim-dialog')), 'the claim dialog');
      await page.locator(testid('claim-token')).fill(claimToken);
      await page.locator(testid('claim-name')).fill('claimed-by-e2e');
      await page.locator(testid('claim-submit')).click();
      const toast = page.locator(testid('toast', '.toast-shown'));
      await toast.waitFor().catch(async () => {
        const error = page.locator(testid('claim-error'));
        fail(
          (await error.isVisible())
            ? `the claim failed: ${await error.textContent()}`
            : 'no toast after claim-submit',
        );
      });
      const said = (await toast.textContent()) ?? '';
      log(`toast: ${said}`);
      if ((await toast.getAttribute('data-kind')) !== 'success' || !said.includes('claimed-by-e2e'))
        fail(`unexpected toast (${await toast.getAttribute('data-kind')}): ${said}`);
      // The row goes with its panel: hidden (or removed) once nobody waits.
      await see(pending, "agent 2's pending-row after the claim", { state: 'hidden' });
      if (await page.locator(testid('claim-dialog')).count()) fail('the claim dialog is still open');

      const got = await api(`/api/v1/hosts/${agent2}`);
      if (got.body?.status !== 'active') fail(`GET /api/v1/hosts/${agent2} says ${JSON.stringify(got.body)}`);
      const row = rowOf(agent2);
      await see(row, `agent 2's host-row (data-host-id=${agent2}) after the claim`);
      const name = (await row.locator('.host-name').textContent())?.trim();
      if (name !== 'claimed-by-e2e') fail(`agent 2's row is named "${name}", not claimed-by-e2e`);
      await waitFor(() => fs.existsSync(path.join(state2, 'api-key')), {
        what: 'agent 2 to fetch its API key (claim-status poll)',
        timeout: CLAIM_TIMEOUT,
      });
      await row
        .locator(testid('status-badge', '[data-status="online"]'))
        .waitFor({ timeout: CLAIM_TIMEOUT })
        .catch(async () => {
          const status = await row.locator(testid('status-badge')).getAttribute('data-status');
          fail(`claimed agent 2's status-badge stayed "${status}"`);
        });
      await screenshot('fleet-claimed');
    });

    // ---- 7: logout ----
    await step(7, 'log out', async () => {
      await page.locator(testid('logout')).click();
      await see(page.locator(testid('login-form')), 'the login form after logout');
      if (await page.locator(testid('logout')).count()) fail('the logout button is still there');
      const session = await page.evaluate(async () => (await fetch('/api/v1/session')).json());
      if (session?.authenticated) fail(`the session is still authenticated: ${JSON.stringify(session)}`);
      await screenshot('logged-out');
    });
  };

  let failure = null;
  let watchdog = null;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        watchdog = setTimeout(
          () => reject(new Failure(`the test did not finish within ${secs(TOTAL_TIMEOUT)} s`)),
          TOTAL_TIMEOUT,
        );
      }),
    ]);
  } catch (err) {
    failure = err;
  } finally {
    clearTimeout(watchdog);
  }

  // ---- teardown, pass or fail ----
  if (failure && page) await screenshot('failure').catch(() => {});
  const problems = [];
  if (failure) {
    const last = steps.at(-1);
    const msg = failure instanceof Failure ? failure.message : (failure.stack ?? String(failure));
    if (last && !last.ok) problems.push(`step ${last.n} (${last.name}): ${last.error}`);
    else problems.push(current ? `${current}: ${msg}` : msg);
  }
  tearingDown = true;
  if (browser) await browser.close().catch((e) => problems.push(`closing chromium: ${e.message}`));
  // Agents first, so that the server does not log them failing to send.
  const order = [...procs.filter((p) => p.name !== 'server'), ...procs.filter((p) => p.name === 'server')];
  for (const p of order) {
    const problem = await p.stop();
    if (problem) problems.push(`${problem}; see ${p.stderrPath}`);
    for (const report of sanitizerReports(p)) problems.push(`sanitizer report in ${p.name}'s stderr:\n${report}`);
    const errors = errorLines(p);
    if (errors.length) console.log(`${p.name} logged errors:\n  ${errors.slice(0, 10).join('\n  ')}`);
  }
  const fiveHundreds = server ? serverErrors(server) : { out: [], atStop: [] };
  if (fiveHundreds.out.length)
    problems.push(`ward-server answered 5xx: ${fiveHundreds.out.slice(0, 10).join(', ')}`);
  if (fiveHundreds.atStop.length)
    console.log(`ward-server answered while stopping (not counted): ${fiveHundreds.atStop.slice(0, 10).join(', ')}`);

  if (consoleErrors.length) console.log(`console errors in the page:\n  ${consoleErrors.join('\n  ')}`);
  fs.writeFileSync(
    path.join(opts.artifacts, 'console.txt'),
    [...pageErrors.map((e) => `pageerror: ${e}`), ...consoleErrors, ...expectedConsole.map((e) => `(expected) ${e}`)]
      .join('\n') + '\n',
  );
  if (opts.keep || problems.length) log(`temporary directory kept: ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
  return problems;
}

let problems;
try {
  problems = await main();
} catch (err) {
  // Setup failed before any process or page was there to tidy up.
  tearingDown = true;
  for (const p of procs) await p.stop();
  problems = [err instanceof Failure ? err.message : (err.stack ?? String(err))];
}
const total = secs(Date.now() - T0);
const summary = [
  ...steps.map((s) => `${s.ok ? 'ok  ' : 'FAIL'} step ${s.n}: ${s.name} (${secs(s.ms)} s)`),
  problems.length ? `FAILED in ${total} s` : `passed in ${total} s`,
  ...problems,
].join('\n');
try {
  fs.writeFileSync(path.join(opts.artifacts, 'summary.txt'), `${summary}\n`);
} catch {
  // The artifacts directory may be what failed.
}
if (problems.length) {
  console.log(`\ndashboard e2e FAILED (${total} s):\n  ${problems.join('\n  ')}\nartifacts: ${opts.artifacts}`);
  process.exit(1);
}
console.log(`\ndashboard e2e passed (${total} s); artifacts: ${opts.artifacts}`);
process.exit(0);
