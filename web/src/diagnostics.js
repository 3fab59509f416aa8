// The diagnostics an admin can ask an agent to run (docs/api.md,
// "Diagnostics"): their arguments, the request built from the form, and how
// a command's state, progress and duration read. No DOM here: the panel is
// diagnostics-panel.js, and this module is unit-tested under node.
//
// The server checks every argument again and its 400 message is what the
// page shows; the checks here only catch what it would surely refuse
// (a required argument left empty, a number out of its range).

import { bytes } from './format.js';

const select = (name, label, options, def, help) => ({ name, label, kind: 'select', options, def, help });
const int = (name, label, min, max, def, help) => ({ name, label, kind: 'int', min, max, def: String(def), help });
const text = (name, label, { def = '', required = false, placeholder = '', help = '', mono = true } = {}) => ({
  name,
  label,
  kind: 'text',
  def,
  required,
  placeholder,
  help,
  mono,
});

export const DIAGNOSTICS = [
  {
    type: 'logs',
    title: 'Logs',
    text: 'Recent journal entries at a severity or worse, newest last (or the tail of /var/log/syslog).',
    args: [
      select(
        'severity',
        'Severity',
        ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'],
        'warning',
        'This level or worse',
      ),
      int('lines', 'Lines', 1, 1000, 100, '1–1000'),
      text('unit', 'Unit', { placeholder: 'all units', help: 'A systemd unit, e.g. ssh.service' }),
    ],
  },
  {
    type: 'disk_usage',
    title: 'Disk usage',
    text: 'The largest files and directories under a path, on its filesystem; symlinks are not followed.',
    args: [
      text('path', 'Path', { def: '/', required: true, help: 'An absolute path' }),
      int('top_n', 'Top', 1, 100, 10, 'Entries of each list, 1–100'),
    ],
  },
  {
    type: 'mounts',
    title: 'Mounts',
    text: 'Every mounted filesystem with its type, options, size and use.',
    args: [],
  },
  {
    type: 'ping',
    title: 'Ping',
    text: 'ICMP echo requests to a host: sent, received, loss and round trips.',
    args: [
      text('target', 'Target', { required: true, placeholder: 'example.org', help: 'A host name or IP address' }),
      int('count', 'Count', 1, 10, 4, '1–10 requests'),
      int('timeout', 'Timeout (s)', 1, 30, 5, '1–30 s in all'),
    ],
  },
  {
    type: 'connect',
    title: 'Connect',
    text: 'A TCP connection from the host: connected and its latency, or the error.',
    args: [
      text('target', 'Target', {
        required: true,
        placeholder: 'example.org:443',
        help: 'HOST:PORT or [IPv6]:PORT',
      }),
      int('timeout', 'Timeout (s)', 1, 30, 5, '1–30 s'),
    ],
  },
  {
    type: 'netstat',
    title: 'Sockets',
    text: 'TCP and UDP sockets from /proc/net, with their processes where visible.',
    args: [
      select('proto', 'Protocol', ['all', 'tcp', 'udp'], 'all'),
      select('state', 'State', ['all', 'listen', 'established'], 'all'),
    ],
  },
  {
    type: 'traceroute',
    title: 'Traceroute',
    text: 'The routers on the path to a host, one line per hop.',
    args: [
      text('target', 'Target', { required: true, placeholder: 'example.org', help: 'A host name or IP address' }),
      int('max_hops', 'Max hops', 1, 30, 20, '1–30'),
      select('proto', 'Probes', ['udp', 'icmp'], 'udp'),
    ],
  },
];

const BY_TYPE = new Map(DIAGNOSTICS.map((d) => [d.type, d]));
BY_TYPE.set('disk', BY_TYPE.get('disk_usage')); // the server's alias

export const diagnostic = (type) => BY_TYPE.get(type) ?? null;

/** The form's starting values of a diagnostic: name → string. */
export function defaults(type) {
  return Object.fromEntries((diagnostic(type)?.args ?? []).map((a) => [a.name, a.def]));
}

/**
 * The body of POST /api/v1/hosts/{id}/commands from a form's values
 * (name → string): the diagnostic's own arguments, trimmed, empty ones
 * left out so that the server's defaults apply.
 */
export function buildRequest(type, values = {}) {
  const spec = diagnostic(type);
  if (!spec) throw new Error(`not a diagnostic: ${type}`);
  const args = {};
  for (const a of spec.args) {
    const v = String(values[a.name] ?? '').trim();
    if (v !== '') args[a.name] = v;
  }
  return { type: spec.type, args };
}

/**
 * What the server would surely refuse, as hints by argument name: a
 * required argument left empty, a number that is not a whole number in its
 * range. Anything else (the shape of a host or path) is the server's to say.
 */
export function checkArgs(type, values = {}) {
  const hints = {};
  for (const a of diagnostic(type)?.args ?? []) {
    const v = String(values[a.name] ?? '').trim();
    if (v === '') {
      if (a.required) hints[a.name] = `${a.label} is required`;
      continue;
    }
    if (a.kind === 'int' && (!/^\d{1,9}$/.test(v) || Number(v) < a.min || Number(v) > a.max))
      hints[a.name] = `A whole number from ${a.min} to ${a.max}`;
    if (a.kind === 'select' && !a.options.includes(v)) hints[a.name] = `One of ${a.options.join(', ')}`;
  }
  return hints;
}

export const FINISHED = new Set(['done', 'failed', 'expired']);
export const isFinished = (cmd) => FINISHED.has(cmd?.state);

const ms = (t) => (t ? Date.parse(t) : NaN);

/** 0.4 → "0 ms", 12 → "12 ms", 1234 → "1.2 s", 75000 → "1 min 15 s", 5000000 → "1 h 23 min". */
export function formatDuration(millis) {
  if (!Number.isFinite(millis) || millis < 0) return '—';
  if (millis < 1000) return `${Math.round(millis)} ms`;
  const s = millis / 1000;
  if (s < 10) return `${(Math.floor(s * 10) / 10).toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const whole = Math.floor(s);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (h > 0) return m ? `${h} h ${m} min` : `${h} h`;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

/**
 * How long a command took: from dispatch (or, never dispatched, from its
 * creation) to its end; null while it is not finished.
 */
export function commandDuration(cmd) {
  if (!isFinished(cmd)) return null;
  const end = ms(cmd.finished_at);
  const start = Number.isFinite(ms(cmd.dispatched_at)) ? ms(cmd.dispatched_at) : ms(cmd.created_at);
  return Number.isFinite(end) && Number.isFinite(start) ? Math.max(0, end - start) : null;
}

/**
 * A command's state for people: { label, kind, text }. kind is what its
 * badge looks like: busy (queued, dispatched), ok, warn (ran, exit status
 * not 0), bad (failed), idle (expired).
 */
export function describeState(cmd) {
  switch (cmd?.state) {
    case 'queued':
      return { label: 'Queued', kind: 'busy', text: 'Waiting for the agent to fetch it.' };
    case 'dispatched':
      return { label: 'Running', kind: 'busy', text: 'The agent has it and is running it.' };
    case 'done':
      return cmd.exit_code === 0 || cmd.exit_code == null
        ? { label: 'Done', kind: 'ok', text: 'It ran and exited with status 0.' }
        : { label: `Exit ${cmd.exit_code}`, kind: 'warn', text: `It ran and exited with status ${cmd.exit_code}.` };
    case 'failed':
      return { label: 'Failed', kind: 'bad', text: 'The agent could not run it.' };
    case 'expired':
      return cmd.dispatched_at
        ? { label: 'Expired', kind: 'idle', text: 'The agent took it but no result came back in time.' }
        : { label: 'Expired', kind: 'idle', text: 'No agent fetched it before it expired. Is the agent online?' };
    default:
      return { label: String(cmd?.state ?? 'unknown'), kind: 'idle', text: '' };
  }
}

/**
 * The three steps of a command's progress: queued → dispatched → its end.
 * Each is { key, label, status, at } with status done, current, todo,
 * skipped, warn (ran, exit status not 0) or bad, and at the time it
 * happened (ms) or null.
 */
export function progressSteps(cmd) {
  const state = cmd?.state;
  const created = ms(cmd?.created_at);
  const dispatched = ms(cmd?.dispatched_at);
  const finished = ms(cmd?.finished_at);
  const at = (t) => (Number.isFinite(t) ? t : null);
  const end = FINISHED.has(state) ? describeState(cmd) : null;
  const wasDispatched = state === 'dispatched' || Number.isFinite(dispatched);
  return [
    { key: 'queued', label: 'Queued', status: state === 'queued' ? 'current' : 'done', at: at(created) },
    {
      key: 'dispatched',
      label: 'Dispatched',
      status: state === 'dispatched' ? 'current' : wasDispatched ? 'done' : end ? 'skipped' : 'todo',
      at: wasDispatched ? at(dispatched) : null,
    },
    {
      key: 'finished',
      label: end ? (state === 'done' ? 'Done' : end.label) : 'Done',
      status: !end ? 'todo' : end.kind === 'ok' ? 'done' : end.kind === 'warn' ? 'warn' : 'bad',
      at: end ? at(finished) : null,
    },
  ];
}

const MAIN_ARG = ['target', 'path', 'unit'];

/**
 * A command's arguments in a line: the main one (target, path or unit)
 * first, then the others that differ from their defaults as name=value.
 */
export function argsSummary(type, args = {}) {
  const spec = diagnostic(type);
  const parts = [];
  const main = MAIN_ARG.find((k) => args[k]);
  if (main) parts.push(args[main]);
  for (const [k, v] of Object.entries(args)) {
    if (k === main || v === '' || v == null) continue;
    const def = spec?.args.find((a) => a.name === k)?.def;
    if (def !== undefined && String(v) === def) continue;
    parts.push(`${k}=${v}`);
  }
  return parts.join(' · ');
}

/**
 * The facts shown under a finished command: exit code (of one that ran),
 * duration, output size and whether it was cut; [label, value] pairs, only
 * those known.
 */
export function resultFacts(cmd) {
  const facts = [];
  if (cmd.state === 'done' && cmd.exit_code != null) facts.push(['Exit code', String(cmd.exit_code)]);
  const d = commandDuration(cmd);
  if (d != null) facts.push(['Duration', formatDuration(d)]);
  if (Number.isFinite(cmd.output_bytes) && (cmd.output_bytes > 0 || isFinished(cmd)))
    facts.push(['Output', bytes(cmd.output_bytes)]);
  if (cmd.truncated) facts.push(['Truncated', 'yes']);
  return facts;
}

/** Wait for GET /api/v1/commands/{id}?wait=N (the server allows up to 30). */
export const FOLLOW_WAIT_S = 25;

/**
 * The ?wait= of the next poll of a command. The server answers a wait as
 * soon as the command is finished, but not when it is dispatched: while it
 * is queued, shorter waits (1, 2, 4 … s, after `queuedPolls` of them) show
 * the agent taking it; once dispatched, the full wait.
 */
export function nextWait(cmd, queuedPolls = 0) {
  if (cmd?.state !== 'queued') return FOLLOW_WAIT_S;
  return Math.min(FOLLOW_WAIT_S, 2 ** Math.max(0, queuedPolls));
}

const RANK = { queued: 0, dispatched: 1, done: 2, failed: 2, expired: 2 };

/**
 * The command shown, brought up to date by a newer listing of it (which has
 * no output): a queued one the list says is dispatched now. A finished state
 * is left to the command's own poll, which brings its output.
 */
export function mergeListed(shown, listed) {
  if (!shown || !listed || shown.id !== listed.id || isFinished(shown) || isFinished(listed)) return shown;
  if ((RANK[listed.state] ?? -1) <= (RANK[shown.state] ?? -1)) return shown;
  return { ...shown, state: listed.state, dispatched_at: listed.dispatched_at ?? shown.dispatched_at };
}

/** How long to wait before asking again after a failed poll: 1, 2, 4 … 15 s. */
export const retryDelay = (failures) => Math.min(15000, 1000 * 2 ** Math.max(0, failures - 1));
