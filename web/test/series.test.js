// Unit tests of the dashboard's pure modules: node --test test/*.test.js
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { breakGaps, joinSeries, pickStep, RateTracker, RollingFrame, seriesKey } from '../src/series.js';

test('a series key does not depend on label order', () => {
  assert.equal(
    seriesKey('disk', 'used_percent', { mountpoint: '/', device: 'sda' }),
    seriesKey('disk', 'used_percent', { device: 'sda', mountpoint: '/' }),
  );
  assert.notEqual(seriesKey('cpu', 'usage_percent', {}), seriesKey('cpu', 'usage_percent', { core: '0' }));
});

test('counter rates come from consecutive samples and survive a restart', () => {
  const r = new RateTracker();
  assert.equal(r.next('k', 1000, 100), null); // nothing to compare with yet
  assert.equal(r.next('k', 3000, 300), 100); // 200 over 2 s
  assert.equal(r.next('k', 4000, 50), 50); // went down: restarted from 0
  assert.equal(r.next('k', 4000, 60), null); // same time: no rate
});

test('a rolling frame keeps one row per second, in order, within its window', () => {
  const f = new RollingFrame(10);
  f.add('a', 1000, 1);
  f.add('b', 1004, 2); // the same second as a's sample
  f.add('a', 3000, 3);
  f.add('b', 2000, 4); // late: goes between
  assert.deepEqual(f.data(['a', 'b']), [
    [1, 2, 3],
    [1, null, 3],
    [2, 4, null],
  ]);
  assert.equal(f.count('a'), 2);
  f.add('a', 15000, 5);
  f.trim(f.newest);
  assert.deepEqual(f.data(['a', 'b']), [[15], [5], [null]]);
});

test('query series join on their timestamps, with gaps as null', () => {
  const joined = joinSeries([
    [
      [1000, 1],
      [2000, 2],
    ],
    [
      [2000, 20],
      [3000, 30],
    ],
  ]);
  assert.deepEqual(joined, [
    [1, 2, 3],
    [1, 2, null],
    [null, 20, 30],
  ]);
});

test('history steps give at most about 400 points', () => {
  assert.equal(pickStep(15 * 60e3), 5000);
  assert.equal(pickStep(3600e3), 10000);
  assert.equal(pickStep(24 * 3600e3), 300e3);
  assert.equal(pickStep(30 * 86400e3), 7200e3);
  for (const span of [60e3, 15 * 60e3, 3600e3, 6 * 3600e3, 86400e3, 7 * 86400e3, 30 * 86400e3, 400 * 86400e3]) {
    assert.ok(span / pickStep(span) <= 400, `span ${span}`);
  }
});

test('history lines break where data is missing', () => {
  const data = [
    [0, 10, 20, 30, 100, 110],
    [1, 2, 3, 4, 5, 6],
  ];
  assert.deepEqual(breakGaps(data, 10), [
    [0, 10, 20, 30, 45, 100, 110],
    [1, 2, 3, 4, null, 5, 6],
  ]);
  assert.deepEqual(
    breakGaps(
      [
        [0, 10, 20],
        [1, 2, 3],
      ],
      10,
    ),
    [
      [0, 10, 20],
      [1, 2, 3],
    ],
  );
});
