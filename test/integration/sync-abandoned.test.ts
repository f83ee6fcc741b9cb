// An mlrun killed with SIGKILL leaves its offline run RUNNING; `mlrun sync` must not keep it
// pending forever: the run is closed KILLED at its last sign of life and delivered. A run left by
// an mlrun on another host sharing the project folder is taken over only with --force.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, test } from 'node:test';
import { assertClosedAbandoned, killMlrunMidRun, liveEntries, type KilledRun } from '../support/killed-run.ts';
import { startMlflowServer, type MlflowServer } from '../support/mlflow-server.ts';
import { runMlrun } from '../support/mlrun.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { tempProject } from '../support/project.ts';

const HEX32 = '[0-9a-f]{32}';
let server: MlflowServer;
const killed: Record<'here' | 'elsewhere', { project: string; run: KilledRun }> = {} as never;

// Both runs are recorded offline while the server is down; the syncs run once it is back.
before(async () => {
  server = await startMlflowServer();
  await server.stop();
  for (const name of ['here', 'elsewhere'] as const) {
    const project = tempProject(`abandoned-${name}`);
    killed[name] = { project, run: await killMlrunMidRun(project, { MLFLOW_TRACKING_URI: server.uri }, { name }) };
  }
  await server.restart();
});
after(() => server.stop());

function serverCopy(offlineRunId: string): PyRun {
  const copy = inspectMlflow(server.uri, { experimentIds: ['0'] }).runs.find((run) => run.tags['mlrun.synced_from'] === offlineRunId);
  assert.ok(copy, `no copy of ${offlineRunId} on the server`);
  return copy;
}

test('a run whose mlrun was SIGKILLed is closed KILLED by mlrun sync and delivered once', async () => {
  const { project, run } = killed.here;
  const sync = await runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: server.uri } });
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(sync.messages[0], `mlrun: closed here (${run.runId}) as KILLED: the mlrun that recorded it is gone`);
  assert.equal(sync.messages.at(-1), `mlrun: synced 1 run to ${server.uri}; nothing pending`);
  assertClosedAbandoned(serverCopy(run.runId), run, 'mlrun sync');
  assert.deepEqual(liveEntries(project), []);
});

test("a run of another host's mlrun stays RUNNING unless mlrun sync --force takes it over", async () => {
  const { project, run } = killed.elsewhere;
  // As if another host sharing the project folder had recorded it: its entry and its tag say so.
  const entry = JSON.parse(fs.readFileSync(run.entry, 'utf8')) as { owner: { host: string } };
  entry.owner.host = 'other-host';
  fs.writeFileSync(run.entry, JSON.stringify(entry));
  fs.utimesSync(run.entry, run.lastActivity / 1000, run.lastActivity / 1000);
  const record = new DatabaseSync(path.join(project, '.mlrun', 'offline', 'mlflow.db'));
  record.prepare(`UPDATE tags SET value = 'other-host' WHERE run_uuid = ? AND key = 'mlrun.host'`).run(run.runId);
  record.close();

  const left = await runMlrun(['sync'], { cwd: project, env: { MLFLOW_TRACKING_URI: server.uri } });
  assert.equal(left.code, 1, left.stderr);
  assert.deepEqual(left.messages, [
    `mlrun: left pending elsewhere (${run.runId}): its mlrun runs on other-host`,
    "mlrun: 1 run still pending; 1 run of another host left running: 'mlrun sync --force' takes it over",
  ]);
  assert.equal(fs.existsSync(run.entry), true);

  const forced = await runMlrun(['sync', '--force'], { cwd: project, env: { MLFLOW_TRACKING_URI: server.uri } });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.messages.length, 3, forced.stderr);
  assert.equal(forced.messages[0], `mlrun: closed elsewhere (${run.runId}) as KILLED: taken over from other-host`);
  assert.match(forced.messages[1]!, new RegExp(`^mlrun: synced elsewhere \\(${run.runId} → ${HEX32}\\): `));
  assert.equal(forced.messages[2], `mlrun: synced 1 run to ${server.uri}; nothing pending`);
  assertClosedAbandoned(serverCopy(run.runId), run, 'mlrun sync --force');
  assert.deepEqual(liveEntries(project), []);
});

test('mlrun sync --help names --force', async () => {
  const help = await runMlrun(['sync', '--help']);
  assert.equal(help.code, 0);
  assert.ok(
    help.stdout.toString().replace(/\s+/g, ' ').includes(" --force take over the runs an mlrun of another host left running: close them KILLED, deliver them (default: false) "),
    help.stdout.toString(),
  );
});
