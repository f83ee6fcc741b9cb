import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MetricSink, type MetricSinkOptions } from '../../src/metrics/deliver/sink.ts';
import { tempFolder } from '../../src/process/temp-files.ts';
import type { CallOptions, Metric } from '../../src/tracking/store.ts';

let files = 0;

function point(n: number, key = `k${n % 20}`): Metric {
  return { key, value: n / 7, timestamp: 1_700_000_000_000 + n, step: n };
}

/** A fake `send` that records batches and stalls while `stalled` is true. */
function fakeServer() {
  const batches: Metric[][] = [];
  const signals: AbortSignal[] = [];
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  let calls = 0;
  const server = {
    batches,
    signals,
    get calls() {
      return calls;
    },
    stall(): void {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release(): void {
      release();
    },
    failOnCall: 0,
    error: new Error('mlflow: INVALID_PARAMETER_VALUE'),
    async send(points: Metric[], options: CallOptions): Promise<void> {
      calls++;
      signals.push(options.signal as AbortSignal);
      if (calls === server.failOnCall) throw server.error;
      await gate;
      batches.push(points);
    },
  };
  return server;
}

function sink(server: ReturnType<typeof fakeServer>, options: Partial<MetricSinkOptions> = {}): MetricSink {
  return new MetricSink({ send: (points, callOptions) => server.send(points, callOptions), spillName: `mlrun-unit-${process.pid}-spill-${++files}.ndjson`, ...options });
}

function assertWithinLimits(batches: Metric[][]): void {
  for (const batch of batches) {
    assert.ok(batch.length >= 1 && batch.length <= 1000, `batch of ${batch.length}`);
    const bytes = Buffer.byteLength(JSON.stringify({ run_id: 'x'.repeat(32), metrics: batch }));
    assert.ok(bytes <= 1_000_000, `batch of ${bytes} bytes`);
  }
}

async function collect(iterable: AsyncIterable<Metric[]>): Promise<Metric[][]> {
  const batches: Metric[][] = [];
  for await (const batch of iterable) batches.push(batch);
  return batches;
}

describe('MetricSink', () => {
  test('a stalled server: 200,000 points pushed without waiting, memory capped, then all delivered in order', async () => {
    const server = fakeServer();
    server.stall();
    const metrics = sink(server, { maxInMemory: 20_000 });
    const total = 200_000;
    for (let n = 0; n < total; n++) metrics.push(point(n));
    // push never waited: everything is accepted while the first request has not even started.
    const pushed = metrics.stats();
    assert.equal(pushed.pushed, total);
    assert.ok(pushed.peakInMemory <= 20_000, `peak ${pushed.peakInMemory}`);
    assert.ok(pushed.spilled >= total - 20_000, `spilled ${pushed.spilled}`);
    assert.deepEqual(readdirSync(tempFolder()).filter((file) => file.startsWith(`mlrun-unit-${process.pid}-`)), [], 'the spill file has no name');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.calls, 1, 'one request in flight at a time');
    server.release();
    await metrics.close();
    const delivered = server.batches.flat();
    assert.equal(delivered.length, total);
    assert.ok(delivered.every((metric, n) => metric.step === n && metric.key === `k${n % 20}` && metric.value === n / 7));
    assertWithinLimits(server.batches);
    const stats = metrics.stats();
    assert.equal(stats.delivered, total);
    assert.equal(stats.undelivered, 0);
    assert.equal(stats.batches, server.batches.length);
    assert.ok(stats.peakInMemory <= 20_000, `peak ${stats.peakInMemory}`);
  });

  test('batches stay under 1 MB of JSON with long keys', async () => {
    const server = fakeServer();
    const metrics = sink(server);
    for (let n = 0; n < 5000; n++) metrics.push(point(n, `${'k'.repeat(240)}${n % 10}`));
    await metrics.close();
    assert.equal(server.batches.flat().length, 5000);
    assertWithinLimits(server.batches);
  });

  test('NaN and ±Infinity survive the spill file', async () => {
    const server = fakeServer();
    server.stall();
    const metrics = sink(server, { maxInMemory: 100 });
    const values = [NaN, Infinity, -Infinity, -0.5, 1e-300, Number.MAX_VALUE];
    for (let n = 0; n < 600; n++) metrics.push({ key: 'v', value: values[n % values.length] as number, timestamp: n, step: n });
    assert.ok(metrics.stats().spilled > 0);
    server.release();
    await metrics.close();
    assert.deepEqual(
      server.batches.flat().map((metric) => metric.value),
      Array.from({ length: 600 }, (_, n) => values[n % values.length]),
    );
  });

  test('a permanent failure: sending stops, everything undelivered is handed back in order', async () => {
    const server = fakeServer();
    server.failOnCall = 3;
    const metrics = sink(server, { maxInMemory: 5000 });
    const total = 50_000;
    for (let n = 0; n < total; n++) metrics.push(point(n));
    await metrics.close();
    assert.equal(metrics.failure, server.error);
    const delivered = server.batches.flat();
    assert.equal(delivered.length, 2000, 'two batches made it');
    // Points pushed after the failure are handed back too.
    for (let n = total; n < total + 10; n++) metrics.push(point(n));
    assert.equal(metrics.stats().undelivered, total + 10 - 2000);
    const handedBack = await collect(metrics.takeUndelivered());
    assertWithinLimits(handedBack);
    const all = [...delivered, ...handedBack.flat()];
    assert.equal(all.length, total + 10);
    assert.ok(all.every((metric, n) => metric.step === n));
    assert.ok(metrics.stats().peakInMemory <= 5000);
    assert.deepEqual(await collect(metrics.takeUndelivered()), [], 'handed back once');
  });

  test('close({ signal }) gives up on a stalled server when the signal aborts; the rest is handed back', async () => {
    const server = fakeServer();
    server.stall();
    const metrics = sink(server);
    for (let n = 0; n < 1500; n++) metrics.push(point(n));
    await metrics.close({ signal: AbortSignal.timeout(100) });
    assert.equal(metrics.stopped, true);
    assert.equal(metrics.stats().undelivered, 1500);
    const handedBack = (await collect(metrics.takeUndelivered())).flat();
    assert.deepEqual(
      handedBack.map((metric) => metric.step),
      Array.from({ length: 1500 }, (_, n) => n),
    );
  });

  test('a spill file that cannot be written: the overflow stays in memory, nothing is lost', async () => {
    const server = fakeServer();
    server.stall();
    const metrics = new MetricSink({ send: (points, options) => server.send(points, options), spillName: 'missing-folder/spill.ndjson', maxInMemory: 1000 });
    for (let n = 0; n < 5000; n++) metrics.push(point(n));
    assert.equal((metrics.stats().spillError as NodeJS.ErrnoException).code, 'ENOENT');
    server.release();
    await metrics.close();
    assert.deepEqual(
      server.batches.flat().map((metric) => metric.step),
      Array.from({ length: 5000 }, (_, n) => n),
    );
  });

  test('takeUndelivered while still sending is refused', async () => {
    const metrics = sink(fakeServer());
    await assert.rejects(metrics.takeUndelivered().next(), /still sending/);
    await metrics.close();
  });
});

describe('MetricSink timing', () => {
  test('a partial batch is sent within a second; a full batch at once', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
    const server = fakeServer();
    const metrics = sink(server);
    for (let n = 0; n < 10; n++) metrics.push(point(n));
    await flushMicrotasks();
    assert.equal(server.calls, 0, 'a partial batch waits for the tick');
    t.mock.timers.tick(999);
    await flushMicrotasks();
    assert.equal(server.calls, 0);
    t.mock.timers.tick(1);
    await flushMicrotasks();
    assert.deepEqual(
      server.batches.map((batch) => batch.length),
      [10],
    );
    for (let n = 10; n < 1010; n++) metrics.push(point(n));
    await flushMicrotasks();
    assert.deepEqual(
      server.batches.map((batch) => batch.length),
      [10, 1000],
      'a full batch goes without waiting for the tick',
    );
    metrics.push(point(1010));
    t.mock.timers.tick(1000);
    await flushMicrotasks();
    assert.deepEqual(
      server.batches.map((batch) => batch.length),
      [10, 1000, 1],
    );
    await metrics.close();
  });

  test('push after a clean close is a bug, and says so', async () => {
    const metrics = sink(fakeServer());
    await metrics.close();
    assert.throws(() => metrics.push(point(0)), /after close/);
  });
});

async function flushMicrotasks(): Promise<void> {
  for (let k = 0; k < 20; k++) await Promise.resolve();
}
