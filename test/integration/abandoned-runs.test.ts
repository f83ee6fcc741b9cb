// No run stays RUNNING once its mlrun is gone: the next mlrun in the project closes the runs of
// a SIGKILLed mlrun (on the embedded store and on a server), and a signal during the run's
// creation closes the run before mlrun exits.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertClosedAbandoned, killMlrunMidRun, liveEntries } from '../support/killed-run.ts';
import { runMlrun } from '../support/mlrun.ts';
import { inspectMlflow } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { tempProject } from '../support/project.ts';

for (const store of ['embedded', 'server'] as const) {
  test(`${store} store: the next mlrun in the project closes the run of a SIGKILLed mlrun`, async () => {
    const project = tempProject(store);
    const uri = store === 'server' ? await sharedServerUri() : `sqlite:///${path.join(project, 'mlflow.db')}`;
    const env: Record<string, string> = store === 'server' ? { MLFLOW_TRACKING_URI: uri } : {};
    // On the embedded store, only once the entry was touched again: its end time is not its start.
    const killed = await killMlrunMidRun(project, env, { afterSignOfLife: store === 'embedded' });
    assert.equal(inspectMlflow(uri, { runIds: [killed.runId] }).runs[0]!.info.status, 'RUNNING');

    const next = await runMlrun(['--', 'sh', '-c', 'echo "run=$MLFLOW_RUN_ID"'], { cwd: project, env });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(next.messages, []);
    const nextId = /run=(\w+)/.exec(next.stdout.toString())![1]!;
    const { runs } = inspectMlflow(uri, { runIds: [killed.runId, nextId] });
    const abandoned = runs.find((run) => run.info.run_id === killed.runId)!;
    assertClosedAbandoned(abandoned, killed, 'mlrun');
    if (store === 'embedded') assert.ok(killed.lastActivity > abandoned.info.start_time);
    assert.equal(runs.find((run) => run.info.run_id === nextId)!.info.status, 'FINISHED');
    assert.deepEqual(liveEntries(project), []);
  });
}

describe('a signal while the run is being created', () => {
  test('SIGTERM: exit 143, the command never starts, and the run the server created is closed KILLED', async (t) => {
    const target = await sharedServerUri();
    const project = tempProject('sigterm');
    let mlrunPid = 0;
    let createdRunId = '';
    // The real server behind a proxy that holds runs/create for 2 s, and tells when it arrives.
    const proxy = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const creating = request.url!.endsWith('/runs/create');
        if (creating) {
          process.kill(mlrunPid, 'SIGTERM');
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
        const answer = await fetch(`${target}${request.url}`, {
          method: request.method,
          headers: { 'Content-Type': request.headers['content-type'] ?? 'application/json' },
          ...(request.method === 'GET' ? {} : { body: Buffer.concat(chunks) }),
        });
        const body = await answer.text();
        if (creating) createdRunId = (JSON.parse(body) as { run: { info: { run_id: string } } }).run.info.run_id;
        response.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'application/json' }).end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const uri = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const result = await runMlrun(['--', 'touch', 'started'], {
      cwd: project,
      env: { MLFLOW_TRACKING_URI: uri },
      onSpawn: (child) => (mlrunPid = child.pid!),
    });
    assert.equal(result.code, 143, `code ${result.code}, signal ${result.signal}: ${result.stderr}`);
    assert.equal(fs.existsSync(path.join(project, 'started')), false);
    assert.match(createdRunId, /^[0-9a-f]{32}$/);
    assert.deepEqual(result.messages, [`mlrun: SIGTERM before the command started: it was not run, and run ${createdRunId} is closed as KILLED`]);
    const run = inspectMlflow(target, { runIds: [createdRunId] }).runs[0]!;
    assert.equal(run.info.status, 'KILLED');
    assert.equal(run.tags['mlrun.signal'], 'SIGTERM');
    assert.equal(run.tags['mlrun.exit_code'], '143');
    assert.deepEqual(liveEntries(project), []);
  });
});
