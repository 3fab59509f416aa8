import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fmt from '../src/format.js';

test('sizes and rates use binary units', () => {
  assert.equal(fmt.bytes(0), '0 B');
  assert.equal(fmt.bytes(1536), '1.5 KiB');
  assert.equal(fmt.bytes(32 * 2 ** 30), '32 GiB');
  assert.equal(fmt.rate(2.5 * 2 ** 20), '2.5 MiB/s');
  assert.equal(fmt.bytes(NaN), '—');
});

test('percentages keep a decimal only when small', () => {
  assert.equal(fmt.percent(0), '0%');
  assert.equal(fmt.percent(4.25), '4.3%');
  assert.equal(fmt.percent(42.4), '42%');
});

test('durations read as people say them', () => {
  assert.equal(fmt.duration(42), '42 s');
  assert.equal(fmt.duration(5000), '1 h 23 min');
  assert.equal(fmt.duration(93784), '1 d 2 h');
  assert.equal(fmt.seconds(0.0012), '0.0012 s');
  assert.equal(fmt.ago(1000, 1000 + 7200e3), '2 h ago');
  assert.equal(fmt.ago(1000, 2000), 'just now');
});

test('a metric name picks its unit', () => {
  assert.equal(fmt.formatterFor('used_bytes')(1024), '1 KiB');
  assert.equal(fmt.formatterFor('usage_percent')(50), '50%');
  assert.equal(fmt.formatterFor('temperature_celsius')(41.25), '41.3 °C');
  assert.equal(fmt.formatterFor('pids')(1234), '1,234');
  assert.equal(fmt.labelText({ b: '2', a: '1' }), 'a=1, b=2');
});
