import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchCoalescer } from '../../src/tracking/rest/coalesce.ts';
import { TrackingError } from '../../src/tracking/errors.ts';
import type { Batch, Metric } from '../../src/tracking/store.ts';

const point = (key: string, step = 0): Metric => ({ key, value: step, timestamp: 1_700_000_000_000 + step, step });

/** A sender that records each request and answers as `answer` says. */
function recorder(answer: (batch: Batch) => Promise<void> = async () => undefined) {
  const sent: { runId: string; batch: Batch; signal: AbortSignal | undefined }[] = [];
  const coalescer = new BatchCoalescer((runId, batch, signal) => {
    sent.push({ runId, batch, signal });
    return answer(batch);
  });
  return { coalescer, sent };
}

test("calls about one run in the same turn go in one request, each kind in the callers' order", async () => {
  const { coalescer, sent } = recorder();
  await Promise.all([
    coalescer.log('r1', { metrics: [point('loss', 0), point('loss', 1)] }, undefined),
    coalescer.log('r1', { metrics: [point('system/cpu')], params: [{ key: 'lr', value: '0.1' }] }, undefined),
    coalescer.log('r1', { tags: [{ key: 'mlrun.exit_code', value: '0' }] }, undefined),
  ]);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]!.batch, {
    params: [{ key: 'lr', value: '0.1' }],
    tags: [{ key: 'mlrun.exit_code', value: '0' }],
    metrics: [point('loss', 0), point('loss', 1), point('system/cpu')],
  });
});

test('other runs, later turns and a key given twice each get a request of their own, in order', async () => {
  const { coalescer, sent } = recorder();
  await Promise.all([
    coalescer.log('r1', { tags: [{ key: 't', value: 'first' }] }, undefined),
    coalescer.log('r2', { tags: [{ key: 't', value: 'other run' }] }, undefined),
    coalescer.log('r1', { tags: [{ key: 't', value: 'second' }] }, undefined),
  ]);
  await coalescer.log('r1', { metrics: [point('m')] }, undefined);
  const of = (runId: string) => sent.filter((request) => request.runId === runId).map(({ batch }) => batch.tags?.[0]?.value ?? batch.metrics?.[0]?.key);
  assert.deepEqual(of('r1'), ['first', 'second', 'm']);
  assert.deepEqual(of('r2'), ['other run']);
});

test('a request the server refuses is sent again part by part: only the refused part fails', async () => {
  const { coalescer, sent } = recorder(async (batch) => {
    if (batch.params?.some((param) => param.key === 'bad')) throw new TrackingError('refused', 'INVALID_PARAMETER_VALUE', { httpStatus: 400 });
  });
  const [good, bad] = await Promise.allSettled([
    coalescer.log('r1', { metrics: [point('loss')] }, undefined),
    coalescer.log('r1', { params: [{ key: 'bad', value: 'x' }] }, undefined),
  ]);
  assert.equal(good.status, 'fulfilled');
  assert.equal(bad.status, 'rejected');
  assert.equal((bad as PromiseRejectedResult).reason.errorCode, 'INVALID_PARAMETER_VALUE');
  assert.equal(sent.length, 3);
});

test('a lost server fails every part of the request', async () => {
  const lost = new TrackingError('cannot reach the server', 'TEMPORARILY_UNAVAILABLE', { unreachable: true });
  const { coalescer, sent } = recorder(async () => {
    throw lost;
  });
  const outcomes = await Promise.allSettled([coalescer.log('r1', { metrics: [point('a')] }, undefined), coalescer.log('r1', { metrics: [point('b')] }, undefined)]);
  assert.deepEqual(outcomes, [{ status: 'rejected', reason: lost }, { status: 'rejected', reason: lost }]);
  assert.equal(sent.length, 1);
});

test('a part whose caller stops waiting is answered at once; the request goes on for the others', async () => {
  let answer!: () => void;
  const { coalescer, sent } = recorder(() => new Promise<void>((resolve) => (answer = resolve)));
  const stop = new AbortController();
  const waiting = coalescer.log('r1', { metrics: [point('a')] }, stop.signal);
  const other = coalescer.log('r1', { metrics: [point('b')] }, undefined);
  await new Promise((resolve) => setImmediate(resolve));
  stop.abort(new Error('hurry'));
  await assert.rejects(waiting, /hurry/);
  assert.equal(sent[0]!.signal, undefined);
  answer();
  await other;
});

test('a lone call goes as it is, with its own signal', async () => {
  const { coalescer, sent } = recorder();
  const signal = new AbortController().signal;
  await coalescer.log('r1', { metrics: [point('a')] }, signal);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.signal, signal);
});
