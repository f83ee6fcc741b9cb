// The metrics thread (src/metrics/thread/handoff.ts) on its own, with a real embedded store and a
// real unreachable server: output that had to wait on disk arrives whole and in order, and points a
// lost server never took are handed over to another store.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MetricsThread } from '../../src/metrics/thread/handoff.ts';
import { tempFolder } from '../../src/process/temp-files.ts';
import { openSqliteStore } from '../../src/tracking/sqlite/store.ts';
import type { StoreTarget } from '../../src/tracking/open-store.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function embeddedRun(): Promise<{ dir: string; dbPath: string; runId: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-thread-'));
  dirs.push(dir);
  const dbPath = path.join(dir, 'mlflow.db');
  const store = openSqliteStore(dbPath);
  const run = await store.createRun({ experimentId: '0', runName: 'thread', startTime: Date.now(), userId: 'test', tags: [] });
  await store.close();
  return { dir, dbPath, runId: run.runId };
}

function storedPoints(dbPath: string, runId: string): { key: string; value: number; timestamp: number; step: number }[] {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    const rows = db.prepare('SELECT "key", value, timestamp, step FROM metrics WHERE run_uuid = ? ORDER BY step, "key"').all(runId);
    return rows.map((row) => ({ ...row })) as { key: string; value: number; timestamp: number; step: number }[];
  } finally {
    db.close();
  }
}

/**
 * Writes `lines` lines `loss=<i> acc=<i>`, `perChunk` to a chunk, a turn of the event loop every 10
 * chunks if `yielding` (else in one go: the thread cannot start on its own meanwhile). Every chunk
 * is read into the same buffer, as mlrun reads the command's pipes: the thread must copy what it
 * keeps before the next chunk overwrites it.
 */
async function writeLines(thread: MetricsThread, lines: number, perChunk = 50, yielding = true): Promise<void> {
  const buffer = Buffer.alloc(perChunk * 32);
  for (let i = 0; i < lines; i += perChunk) {
    let text = '';
    for (let j = i; j < i + perChunk; j++) text += `loss=${j} acc=${j}\n`;
    thread.write('stdout', buffer.subarray(0, buffer.write(text)), 1_000_000 + i);
    if (yielding && (i / perChunk) % 10 === 9) await nextTurn();
  }
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Output waits on disk when the thread falls behind, and when it waits before the thread starts
// (the thread starts once the first burst that lasts is over).
// Chunks of 5,000 lines are larger than the buffer chunks are gathered in: they go on their own,
// the first two in memory and the rest on disk.
for (const [started, perChunk] of [[true, 50], [false, 50], [false, 5000]] as const) {
  test(`output that waited on disk ${started ? 'while the thread was behind' : 'before the thread started'}, ${perChunk} lines a chunk, is matched whole, in order`, async (t) => {
    const { dbPath, runId } = await embeddedRun();
    const spillName = `mlrun-test-${runId}.output`;
    const thread = new MetricsThread(
      { config: {}, from: 'stdout', target: { kind: 'sqlite', dbPath }, runId, metricsPerBatch: 5000, env: process.env, spillName },
      { maxInFlight: perChunk === 50 ? 4096 : 256 * 1024 },
    );
    t.after(() => thread.stop()); // a failure must not leave the thread running (the test file would hang)
    if (started) thread.start();
    await writeLines(thread, 20_000, perChunk, started);
    assert.ok(thread.spilledBytes > 0, 'some output waited on disk');
    assert.equal(fs.existsSync(path.join(tempFolder(), spillName)), false, 'the spill file has no name');
    const report = await thread.finish(AbortSignal.timeout(120_000));
    await thread.stop();

    // Each key's latest point comes back from the thread too (a stage's metrics file is weighed against it).
    const last = { step: 19_999, value: 19_999, timestamp: 1_000_000 + 19_999 - (19_999 % perChunk) };
    const lastPoints = new Map([['acc', last], ['loss', last]]);
    assert.deepEqual(report, { lines: 20_000, points: 40_000, keys: 2, delivered: 40_000, undelivered: 0, lastPoints });
    const points = storedPoints(dbPath, runId);
    assert.equal(points.length, 40_000);
    points.forEach((point, index) => {
      const step = Math.floor(index / 2);
      assert.deepEqual(point, { key: index % 2 === 0 ? 'acc' : 'loss', value: step, timestamp: 1_000_000 + step - (step % perChunk), step });
    });
  });
}

test('points a lost server never took are handed, in order, to the offline store', async () => {
  const { dbPath, runId } = await embeddedRun();
  const server: StoreTarget = { kind: 'rest', uri: `http://127.0.0.1:${await closedPort()}` };
  const thread = new MetricsThread({
    config: {},
    from: 'stdout',
    target: server,
    runId: 'f'.repeat(32),
    metricsPerBatch: 1000,
    env: { ...process.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0' },
    spillName: `mlrun-test-${runId}.output`,
  });
  await writeLines(thread, 3000);
  const report = await thread.finish(AbortSignal.timeout(10_000));
  assert.equal(report.delivered, 0);
  assert.equal(report.undelivered, 6000);
  assert.match(report.failure ?? '', /127\.0\.0\.1/);

  await thread.deliverRest({ target: { kind: 'sqlite', dbPath }, run: { runId } });
  await thread.stop();
  const points = storedPoints(dbPath, runId);
  assert.equal(points.length, 6000);
  assert.deepEqual(points.slice(0, 2), [
    { key: 'acc', value: 0, timestamp: 1_000_000, step: 0 },
    { key: 'loss', value: 0, timestamp: 1_000_000, step: 0 },
  ]);
  assert.deepEqual(points.at(-1), { key: 'loss', value: 2999, timestamp: 1_000_000 + 2950, step: 2999 });
});
