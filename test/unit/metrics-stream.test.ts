import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileMetricConfig } from '../../src/metrics/parse/config.ts';
import { MetricStream, type MetricsFrom } from '../../src/metrics/parse/stream.ts';
import type { Metric } from '../../src/tracking/store.ts';

function stream(from: MetricsFrom = 'stdout', options = {}): { points: Metric[]; metrics: MetricStream } {
  const points: Metric[] = [];
  const metrics = new MetricStream(compileMetricConfig(options), { push: (point) => points.push(point) }, from);
  return { points, metrics };
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 100,000 lines in every supported format, over 20 keys, with the points each key must get.
 * Steps: explicit (step word, step pair, JSON global_step, dict iter) or implicit per key.
 */
function generate(lineCount: number): { text: string; expected: Map<string, [number, number][]> } {
  const expected = new Map<string, [number, number][]>();
  const implicit = new Map<string, number>();
  const add = (key: string, value: number, step?: number): void => {
    const points = expected.get(key) ?? [];
    const at = step ?? (implicit.get(key) ?? -1) + 1;
    implicit.set(key, at);
    points.push([value, at]);
    expected.set(key, points);
  };
  const value = (i: number, k: number): number => (i * 31 + k) / 1000;
  const lines: string[] = [];
  for (let i = 0; i < lineCount; i++) {
    const a = value(i, 1);
    const b = value(i, 2);
    switch (i % 10) {
      case 0:
        lines.push(`epoch ${i}: k00=${a} k01=${b.toExponential()}`);
        add('k00', a, i);
        add('k01', b, i);
        break;
      case 1:
        lines.push(`step=${i} k02=${a} k03 = ${b}`);
        add('k02', a, i);
        add('k03', b, i);
        break;
      case 2:
        lines.push(`${i % 50}/50 [==============================] - 1s 5ms/step - k04: ${a.toFixed(4)} - k05: ${b}`);
        add('k04', Number(a.toFixed(4)));
        add('k05', b);
        break;
      case 3:
        lines.push(`{"k06": ${a}, "k07": {"inner": ${b}}, "global_step": ${i}, "note": "k99=1"}`);
        add('k06', a, i);
        add('k07/inner', b, i);
        break;
      case 4:
        lines.push(`{'k08': ${a}, 'k09': nan, 'iter': ${i}, 'done': False}`);
        add('k08', a, i);
        add('k09', NaN, i);
        break;
      case 5:
        lines.push(`2024-01-05 12:30:${String(i % 60).padStart(2, '0')},123 INFO v1.2.3 from 10.0.0.${i % 255} see https://x.org/a?k18=1 ✓ 45%`);
        break;
      case 6:
        lines.push(`k10=-inf, k11=.5 | k12=${a}`);
        add('k10', -Infinity);
        add('k11', 0.5);
        add('k12', a);
        break;
      case 7:
        // A tqdm-style redraw: only the final state counts.
        lines.push(`\r 10%|#    | k13=999 k14=999\r100%|#####| k13=${a}, k14=${b}]`);
        add('k13', a);
        add('k14', b);
        break;
      case 8:
        lines.push(`INFO:root:k15: ${a} k16=${b}\r`); // \r\n line ending
        add('k15', a);
        add('k16', b);
        break;
      case 9:
        lines.push(`[Step ${i}] k17=${a} k18=${i % 7 === 0 ? 'Infinity' : b} k19=${-b}`);
        add('k17', a, i);
        add('k18', i % 7 === 0 ? Infinity : b, i);
        add('k19', -b, i);
        break;
    }
  }
  return { text: `${lines.join('\n')}\n`, expected };
}

describe('MetricStream', () => {
  test('100,000 mixed lines over 20 keys, in random chunks: exactly the expected points per key', () => {
    const { text, expected } = generate(100_000);
    const bytes = Buffer.from(text, 'utf8');
    const { points, metrics } = stream();
    const next = random(42);
    for (let offset = 0, n = 0; offset < bytes.length; n++) {
      const size = 1 + Math.floor(next() * 8192);
      metrics.write('stdout', bytes.subarray(offset, offset + size), n);
      offset += size;
    }
    metrics.end('stdout', -1);
    const actual = new Map<string, [number, number][]>();
    for (const point of points) {
      const list = actual.get(point.key) ?? [];
      list.push([point.value, point.step]);
      actual.set(point.key, list);
    }
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
    assert.equal(actual.size, 20);
    for (const [key, list] of expected) assert.deepEqual(actual.get(key), list, key);
    assert.deepEqual(metrics.stats(), { lines: 100_000, points: points.length, keys: 20 });
    assert.equal(points.length, [...expected.values()].reduce((sum, list) => sum + list.length, 0));
    // Timestamps: each point has the time of the chunk its line ended in, never later ones.
    for (let k = 1; k < points.length; k++) assert.ok((points[k] as Metric).timestamp >= (points[k - 1] as Metric).timestamp);
  });

  test("each key's latest point is the one MLflow shows: highest step, then latest, then highest value", () => {
    const { metrics } = stream();
    const lines: [string, number][] = [
      ['step=5 loss=0.5 acc=0.1', 10],
      ['step=2 loss=0.9 acc=0.2', 20], // a lower step later: not the latest
      ['step=5 acc=0.3', 20], // same step, later
      ['step=5 acc=0.25', 20], // same step and time, lower value: not the latest
      ['f1=0.7', 30],
    ];
    for (const [line, time] of lines) metrics.write('stdout', Buffer.from(`${line}\n`), time);
    metrics.end('stdout', 40);
    assert.deepEqual(
      metrics.lastPoints(),
      new Map([
        ['loss', { step: 5, value: 0.5, timestamp: 10 }],
        ['acc', { step: 5, value: 0.3, timestamp: 20 }],
        ['f1', { step: 0, value: 0.7, timestamp: 30 }],
      ]),
    );
  });

  test('throughput of the default patterns (reported, not asserted)', (t) => {
    const { text } = generate(100_000);
    const bytes = Buffer.from(text, 'utf8');
    let best = 0;
    let bestCpu = 0;
    for (let round = 0; round < 8; round++) {
      let count = 0;
      const metrics = new MetricStream(compileMetricConfig(), { push: () => count++ });
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let offset = 0; offset < bytes.length; offset += 65536) metrics.write('stdout', bytes.subarray(offset, offset + 65536), 0);
      metrics.end('stdout', 0);
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      best = Math.max(best, 100_000 / seconds);
      bestCpu = Math.max(bestCpu, 100_000 / ((used.user + used.system) / 1e6));
      assert.ok(count > 0);
    }
    t.diagnostic(`default patterns: ${Math.round(best).toLocaleString('en')} lines/s wall, ${Math.round(bestCpu).toLocaleString('en')} lines/s of CPU time (best of 8 rounds of 100,000 mixed lines, ${(bytes.length / 1e6).toFixed(1)} MB)`);
  });

  test('tqdm on stderr with --metrics-from stderr: one point per bar, its final value', () => {
    const { points, metrics } = stream('stderr');
    let output = '';
    for (let n = 0; n <= 100; n += 10) output += `\rtrain: ${String(n).padStart(3)}%|${'#'.repeat(n / 10).padEnd(10)}| ${n}/100 [00:0${n / 50}<00:00, 99.5it/s, loss=${(1 - n / 100).toFixed(2)}]`;
    output += '\n';
    metrics.write('stdout', Buffer.from('loss=42\n'), 1);
    metrics.write('stderr', Buffer.from(output), 2);
    metrics.end('stderr', 3);
    assert.deepEqual(points, [{ key: 'loss', value: 0, timestamp: 2, step: 0 }]);
    assert.equal(metrics.stats().lines, 1, 'stdout is not read');
  });

  test('a Keras fit log: exact points, no duplicates from the redraws', () => {
    const { points, metrics } = stream();
    const epochs = [
      { loss: 0.6931, accuracy: 0.5, val_loss: 0.65, val_accuracy: 0.55 },
      { loss: 0.5123, accuracy: 0.75, val_loss: 0.6, val_accuracy: 0.6 },
    ];
    for (const [index, epoch] of epochs.entries()) {
      metrics.write('stdout', Buffer.from(`Epoch ${index + 1}/2\n`), index * 10);
      let previous = 0;
      for (let batch = 1; batch <= 3; batch++) {
        const bar = `${'='.repeat(batch * 10 - 1)}>`.padEnd(30, '.');
        const final = batch === 3;
        const state = final
          ? `3/3 [==============================] - 0s 10ms/step - loss: ${epoch.loss.toFixed(4)} - accuracy: ${epoch.accuracy.toFixed(4)} - val_loss: ${epoch.val_loss.toFixed(4)} - val_accuracy: ${epoch.val_accuracy.toFixed(4)}`
          : `${batch}/3 [${bar}] - ETA: 0s - loss: 0.9${batch} - accuracy: 0.1${batch}`;
        metrics.write('stdout', Buffer.from(`${'\b'.repeat(previous)}\r${state}${final ? '\n' : ''}`), index * 10 + batch);
        previous = state.length;
      }
    }
    metrics.end('stdout', 99);
    assert.deepEqual(
      points.map((point) => [point.key, point.value, point.step, point.timestamp]),
      [
        ['loss', 0.6931, 0, 3],
        ['accuracy', 0.5, 0, 3],
        ['val_loss', 0.65, 0, 3],
        ['val_accuracy', 0.55, 0, 3],
        ['loss', 0.5123, 1, 13],
        ['accuracy', 0.75, 1, 13],
        ['val_loss', 0.6, 1, 13],
        ['val_accuracy', 0.6, 1, 13],
      ],
    );
  });

  test('both outputs: lines are split per output, so interleaved chunks do not mix', () => {
    const { points, metrics } = stream('both');
    metrics.write('stdout', Buffer.from('lo'), 1);
    metrics.write('stderr', Buffer.from('acc=0.'), 2);
    metrics.write('stdout', Buffer.from('ss=0.5\n'), 3);
    metrics.write('stderr', Buffer.from('9'), 4);
    metrics.end('stdout', 5);
    metrics.end('stderr', 6);
    assert.deepEqual(points, [
      { key: 'loss', value: 0.5, timestamp: 3, step: 0 },
      { key: 'acc', value: 0.9, timestamp: 6, step: 0 },
    ]);
  });

  test('--metrics none reads nothing', () => {
    const { points, metrics } = stream('both', { enabled: false });
    metrics.write('stdout', Buffer.from('loss=1\n'), 1);
    metrics.end('stdout', 1);
    assert.deepEqual(points, []);
    assert.deepEqual(metrics.stats(), { lines: 0, points: 0, keys: 0 });
  });
});
