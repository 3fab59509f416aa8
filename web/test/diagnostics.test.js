// Unit tests of the Diagnostics panel's pure parts: node --test test/*.test.js
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  argsSummary,
  buildRequest,
  checkArgs,
  commandDuration,
  DIAGNOSTICS,
  defaults,
  describeState,
  diagnostic,
  formatDuration,
  isFinished,
  mergeListed,
  nextWait,
  progressSteps,
  resultFacts,
  retryDelay,
} from '../src/diagnostics.js';
import { bytes } from '../src/format.js';

test('the seven diagnostics with the arguments and defaults of docs/api.md', () => {
  assert.deepEqual(
    DIAGNOSTICS.map((d) => d.type),
    ['logs', 'disk_usage', 'mounts', 'ping', 'connect', 'netstat', 'traceroute'],
  );
  assert.deepEqual(defaults('logs'), { severity: 'warning', lines: '100', unit: '' });
  assert.deepEqual(defaults('disk_usage'), { path: '/', top_n: '10' });
  assert.deepEqual(defaults('mounts'), {});
  assert.deepEqual(defaults('ping'), { target: '', count: '4', timeout: '5' });
  assert.deepEqual(defaults('connect'), { target: '', timeout: '5' });
  assert.deepEqual(defaults('netstat'), { proto: 'all', state: 'all' });
  assert.deepEqual(defaults('traceroute'), { target: '', max_hops: '20', proto: 'udp' });
  assert.deepEqual(diagnostic('logs').args[0].options, [
    'emerg',
    'alert',
    'crit',
    'err',
    'warning',
    'notice',
    'info',
    'debug',
  ]);
  assert.deepEqual(diagnostic('netstat').args[1].options, ['all', 'listen', 'established']);
  assert.deepEqual(diagnostic('traceroute').args[2].options, ['udp', 'icmp']);
  assert.equal(diagnostic('disk'), diagnostic('disk_usage'));
  assert.equal(diagnostic('rm'), null);
});

test('the request holds the diagnostic’s own arguments, trimmed, empty ones left to the server', () => {
  assert.deepEqual(buildRequest('connect', { target: ' 127.0.0.1:8080 ', timeout: '5' }), {
    type: 'connect',
    args: { target: '127.0.0.1:8080', timeout: '5' },
  });
  assert.deepEqual(buildRequest('logs', { severity: 'err', lines: '50', unit: '' }), {
    type: 'logs',
    args: { severity: 'err', lines: '50' },
  });
  assert.deepEqual(buildRequest('mounts', { target: 'x' }), { type: 'mounts', args: {} });
  // Arguments of another diagnostic (a field left from a switch) are not sent.
  assert.deepEqual(buildRequest('ping', { target: 'a;b', proto: 'udp' }), {
    type: 'ping',
    args: { target: 'a;b' },
  });
  assert.deepEqual(buildRequest('disk', { path: '/var', top_n: 5 }), {
    type: 'disk_usage',
    args: { path: '/var', top_n: '5' },
  });
  assert.throws(() => buildRequest('shell', {}), /not a diagnostic/);
});

test('client-side hints catch only what the server surely refuses', () => {
  assert.deepEqual(checkArgs('ping', { target: '', count: '4', timeout: '5' }), { target: 'Target is required' });
  assert.deepEqual(checkArgs('ping', { target: 'h', count: '11', timeout: '0' }), {
    count: 'A whole number from 1 to 10',
    timeout: 'A whole number from 1 to 30',
  });
  assert.deepEqual(checkArgs('logs', { lines: '1.5', severity: 'loud' }), {
    lines: 'A whole number from 1 to 1000',
    severity: 'One of emerg, alert, crit, err, warning, notice, info, debug',
  });
  // The shape of a host or path is the server's to judge: its 400 says what it must be.
  assert.deepEqual(checkArgs('ping', { target: 'a;b' }), {});
  assert.deepEqual(checkArgs('disk_usage', { path: 'relative', top_n: '' }), {});
  assert.deepEqual(checkArgs('mounts', {}), {});
});

const at = (s) => `2026-11-22T20:00:${s}Z`;
const cmd = (over) => ({
  id: 'c1',
  type: 'connect',
  args: { target: '127.0.0.1:8080', timeout: '5' },
  state: 'queued',
  created_at: at('00.000'),
  dispatched_at: null,
  finished_at: null,
  exit_code: null,
  error: null,
  output_bytes: 0,
  truncated: false,
  ...over,
});

test('states read as people say them', () => {
  assert.deepEqual(describeState(cmd({ state: 'queued' })).label, 'Queued');
  assert.equal(describeState(cmd({ state: 'dispatched' })).kind, 'busy');
  assert.deepEqual(describeState(cmd({ state: 'done', exit_code: 0 })), {
    label: 'Done',
    kind: 'ok',
    text: 'It ran and exited with status 0.',
  });
  assert.equal(describeState(cmd({ state: 'done', exit_code: 2 })).label, 'Exit 2');
  assert.equal(describeState(cmd({ state: 'done', exit_code: 2 })).kind, 'warn');
  assert.equal(describeState(cmd({ state: 'failed', error: 'refused: off' })).kind, 'bad');
  assert.match(describeState(cmd({ state: 'expired' })).text, /No agent fetched it/);
  assert.match(describeState(cmd({ state: 'expired', dispatched_at: at('01.000') })).text, /no result came back/);
  assert.equal(isFinished(cmd({ state: 'dispatched' })), false);
  assert.equal(isFinished(cmd({ state: 'expired' })), true);
  assert.equal(isFinished(null), false);
});

test('progress goes queued → dispatched → done, failed or expired', () => {
  const status = (c) => progressSteps(c).map((s) => `${s.key}:${s.status}`);
  assert.deepEqual(status(cmd({ state: 'queued' })), ['queued:current', 'dispatched:todo', 'finished:todo']);
  assert.deepEqual(status(cmd({ state: 'dispatched', dispatched_at: at('00.500') })), [
    'queued:done',
    'dispatched:current',
    'finished:todo',
  ]);
  const done = cmd({ state: 'done', exit_code: 0, dispatched_at: at('00.500'), finished_at: at('01.250') });
  assert.deepEqual(status(done), ['queued:done', 'dispatched:done', 'finished:done']);
  assert.deepEqual(
    progressSteps(done).map((s) => s.at),
    [Date.parse(at('00.000')), Date.parse(at('00.500')), Date.parse(at('01.250'))],
  );
  const exit1 = cmd({ state: 'done', exit_code: 1, dispatched_at: at('00.500'), finished_at: at('01.250') });
  assert.deepEqual(status(exit1), ['queued:done', 'dispatched:done', 'finished:warn']);
  assert.equal(progressSteps(exit1)[2].label, 'Done');
  const failed = cmd({ state: 'failed', exit_code: -1, dispatched_at: at('00.500'), finished_at: at('00.600') });
  assert.deepEqual(status(failed), ['queued:done', 'dispatched:done', 'finished:bad']);
  assert.equal(progressSteps(failed)[2].label, 'Failed');
  const expired = cmd({ state: 'expired', finished_at: at('05.000') });
  assert.deepEqual(status(expired), ['queued:done', 'dispatched:skipped', 'finished:bad']);
  assert.equal(progressSteps(expired)[2].label, 'Expired');
});

test('durations: milliseconds, seconds, minutes', () => {
  assert.equal(formatDuration(0), '0 ms');
  assert.equal(formatDuration(12.4), '12 ms');
  assert.equal(formatDuration(999), '999 ms');
  assert.equal(formatDuration(1234), '1.2 s');
  assert.equal(formatDuration(9999), '9.9 s');
  assert.equal(formatDuration(42_000), '42 s');
  assert.equal(formatDuration(75_000), '1 min 15 s');
  assert.equal(formatDuration(120_000), '2 min');
  assert.equal(formatDuration(5_000_000), '1 h 23 min');
  assert.equal(formatDuration(-1), '—');
  assert.equal(formatDuration(NaN), '—');

  assert.equal(commandDuration(cmd({ state: 'dispatched', dispatched_at: at('00.500') })), null);
  assert.equal(
    commandDuration(cmd({ state: 'done', dispatched_at: at('00.500'), finished_at: at('01.250') })),
    750,
  );
  // Never dispatched: from its creation.
  assert.equal(commandDuration(cmd({ state: 'expired', finished_at: at('05.000') })), 5000);
});

test('a command’s arguments in a line, defaults left out', () => {
  assert.equal(argsSummary('connect', { target: '127.0.0.1:8080', timeout: '5' }), '127.0.0.1:8080');
  assert.equal(argsSummary('ping', { target: 'example.org', count: '2', timeout: '5' }), 'example.org · count=2');
  assert.equal(argsSummary('logs', { severity: 'err', lines: '100', unit: '' }), 'severity=err');
  assert.equal(argsSummary('logs', { severity: 'warning', lines: '100', unit: 'ssh.service' }), 'ssh.service');
  assert.equal(argsSummary('disk_usage', { path: '/', top_n: '10' }), '/');
  assert.equal(argsSummary('mounts', {}), '');
  assert.equal(argsSummary('mounts', undefined), '');
});

test('result facts: exit code, duration, size, truncated', () => {
  const done = cmd({
    state: 'done',
    exit_code: 0,
    dispatched_at: at('00.500'),
    finished_at: at('01.250'),
    output_bytes: 1536,
    truncated: true,
  });
  assert.deepEqual(resultFacts(done), [
    ['Exit code', '0'],
    ['Duration', '750 ms'],
    ['Output', '1.5 KiB'],
    ['Truncated', 'yes'],
  ]);
  assert.deepEqual(resultFacts(cmd({ state: 'queued' })), []);
  // A failed command did not run: its exit code says nothing, its error does.
  assert.deepEqual(
    resultFacts(cmd({ state: 'failed', exit_code: -1, dispatched_at: at('00.500'), finished_at: at('00.502') })),
    [
      ['Duration', '2 ms'],
      ['Output', '0 B'],
    ],
  );
  assert.equal(bytes(240), '240 B');
  assert.equal(bytes(256 * 1024), '256 KiB');
  assert.equal(bytes(3 * 1024 * 1024 + 1), '3 MiB');
});

test('a queued command is polled sooner than a dispatched one', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((n) => nextWait(cmd({ state: 'queued' }), n)),
    [1, 2, 4, 8, 16, 25, 25],
  );
  assert.equal(nextWait(cmd({ state: 'dispatched' }), 3), 25);
  assert.equal(nextWait(null), 25);
});

test('a listing moves a shown command on to dispatched, never back, never to its end', () => {
  const queued = cmd({ state: 'queued', output: null });
  const listed = cmd({ state: 'dispatched', dispatched_at: at('00.500') });
  assert.deepEqual(mergeListed(queued, listed), { ...queued, state: 'dispatched', dispatched_at: at('00.500') });
  assert.equal(mergeListed(listed, queued), listed);
  assert.equal(mergeListed(queued, cmd({ state: 'done', exit_code: 0 })), queued);
  assert.equal(mergeListed(queued, cmd({ id: 'c2', state: 'dispatched' })), queued);
  assert.equal(mergeListed(null, listed), null);
});

test('a failing poll backs off up to 15 s', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(retryDelay), [1000, 2000, 4000, 8000, 15000, 15000]);
});
