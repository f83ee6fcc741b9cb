// The embedded store against databases the pinned MLflow creates, read back and written by the
// real MLflow Python client and `mlflow server`.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { TrackingError } from '../../src/tracking/errors.ts';
import { Connection } from '../../src/tracking/sqlite/connection.ts';
import { openSqliteStore } from '../../src/tracking/sqlite/store.ts';
import type { Metric, Store } from '../../src/tracking/store.ts';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { repoRoot, venvBin } from '../support/paths.ts';
import { inspectMlflow } from '../support/python.ts';
import { rejection } from '../support/assertions.ts';

const HEX32 = /^[0-9a-f]{32}$/;
const MAX = 1.7976931348623157e308;
const writerScript = path.join(repoRoot, 'test', 'fixtures', 'sqlite', 'concurrent-writer.ts');

const stores: Store[] = [];
const dirs: string[] = [];
after(async () => {
  for (const store of stores) await store.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-sqlite-'));
  dirs.push(dir);
  return dir;
}

function open(dir: string): Store {
  const store = openSqliteStore(path.join(dir, 'mlflow.db'));
  stores.push(store);
  return store;
}

const uriOf = (dir: string) => `sqlite:///${dir}/mlflow.db`;

/** Runs a Python snippet with MLflow's client on `sqlite:///mlflow.db` in `cwd`; returns its JSON output. */
function python<T>(cwd: string, body: string, ...args: string[]): T {
  const script = `import json, sys\nfrom mlflow.tracking import MlflowClient\nclient = MlflowClient("sqlite:///mlflow.db")\n${body}`;
  const out = execFileSync(path.join(venvBin, 'python'), ['-c', script, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out) as T;
}


function query<T>(dbPath: string, sql: string, ...params: (string | number)[]): T[] {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    // Plain objects, to compare with literals.
    return db.prepare(sql).all(...params).map((row) => ({ ...row })) as T[];
  } finally {
    db.close();
  }
}

/** Items of a CREATE TABLE body in a stable order: MLflow's migrations emit constraints in set order. */
function normalizeSql(sql: string): string {
  const open = sql.indexOf('(');
  if (!sql.startsWith('CREATE TABLE') || open < 0) return sql;
  const items: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of sql.slice(open + 1, sql.lastIndexOf(')'))) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === ',') {
      items.push(current.trim());
      current = '';
    } else current += ch;
  }
  items.push(current.trim());
  return `${sql.slice(0, open).trim()} (${items.sort().join(', ')})`;
}

/** Everything that makes up a database's schema, as SQLite reports it. */
function describeSchema(dbPath: string): unknown {
  const objects = query<{ type: string; name: string; tbl_name: string; sql: string | null }>(
    dbPath,
    'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name',
  );
  const tables = objects.filter((o) => o.type === 'table').map((o) => o.name);
  return {
    objects: objects.map((o) => ({ ...o, sql: o.sql && normalizeSql(o.sql) })),
    tables: Object.fromEntries(
      tables.map((table) => [
        table,
        {
          columns: query(dbPath, 'SELECT * FROM pragma_table_xinfo(?)', table),
          foreignKeys: query(dbPath, 'SELECT * FROM pragma_foreign_key_list(?)', table),
          // Not `seq`, the creation order, which differs between two databases MLflow creates.
          indexes: query<{ name: string }>(
            dbPath,
            'SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name',
            table,
          ).map((index) => ({ ...index, columns: query(dbPath, 'SELECT * FROM pragma_index_xinfo(?)', index.name) })),
        },
      ]),
    ),
  };
}

describe('a new database', () => {
  test('has exactly the schema, rows and alembic version the pinned MLflow creates', async () => {
    const ours = freshDir();
    const theirs = freshDir();
    const store = open(ours);
    // The first call creates the database.
    assert.deepEqual(await store.getExperiment('0'), {
      experimentId: '0',
      name: 'Default',
      artifactLocation: `${ours}/mlruns/0`,
      lifecycleStage: 'active',
    });
    python(theirs, 'client.search_experiments()\nprint("{}")');
    const ourDb = path.join(ours, 'mlflow.db');
    const theirDb = path.join(theirs, 'mlflow.db');

    assert.deepEqual(describeSchema(ourDb), describeSchema(theirDb));
    for (const table of ['alembic_version', 'workspaces']) {
      assert.deepEqual(query(ourDb, `SELECT * FROM ${table}`), query(theirDb, `SELECT * FROM ${table}`));
    }
    const experiments = (dbPath: string) => query<Record<string, unknown>>(dbPath, 'SELECT * FROM experiments');
    const [ourDefault] = experiments(ourDb);
    const [theirDefault] = experiments(theirDb);
    assert.equal(ourDefault!.artifact_location, `${ours}/mlruns/0`);
    assert.equal(theirDefault!.artifact_location, `${theirs}/mlruns/0`);
    const comparable = (row: Record<string, unknown>) => ({ ...row, artifact_location: '', creation_time: 0, last_update_time: 0 });
    assert.deepEqual(comparable(ourDefault!), comparable(theirDefault!));
    assert.equal(ourDefault!.creation_time, ourDefault!.last_update_time);
    for (const table of ['runs', 'metrics', 'params', 'tags', 'experiment_tags']) {
      assert.deepEqual(query(ourDb, `SELECT count(*) AS n FROM ${table}`), [{ n: 0 }]);
    }
    assert.deepEqual(query(ourDb, 'PRAGMA journal_mode'), [{ journal_mode: 'wal' }]);
  });

  test('a run written by the store reads back exactly through the MLflow Python client', async () => {
    const dir = freshDir();
    const store = open(dir);
    const startTime = 1_700_000_000_000;
    const info = await store.createRun({
      experimentId: '0',
      runName: 'train',
      startTime,
      userId: 'alice',
      tags: [
        { key: 'mlflow.user', value: 'alice' },
        { key: 'mlflow.source.type', value: 'LOCAL' },
      ],
    });
    assert.match(info.runId, HEX32);
    const artifactUri = `${dir}/mlruns/0/${info.runId}/artifacts`;
    assert.deepEqual(info, {
      runId: info.runId,
      experimentId: '0',
      runName: 'train',
      status: 'RUNNING',
      startTime,
      artifactUri,
      lifecycleStage: 'active',
      userId: 'alice',
    });

    const t = startTime + 1000;
    const metrics: Metric[] = [
      { key: 'loss', value: 0.5, timestamp: t, step: 0 },
      { key: 'loss', value: NaN, timestamp: t + 1, step: 1 },
      { key: 'loss', value: 0.25, timestamp: t + 2, step: 2 },
      { key: 'loss', value: 0.5, timestamp: t, step: 0 }, // an exact duplicate: dropped
      { key: 'bound', value: Infinity, timestamp: t, step: 0 },
      { key: 'bound', value: -Infinity, timestamp: t, step: 1 },
      { key: 'epoch/acc', value: 0.9, timestamp: t, step: 20 },
      { key: 'epoch/acc', value: 0.7, timestamp: t, step: 10 },
      { key: 'epoch/acc', value: 0.8, timestamp: t + 5, step: 15 },
    ];
    await store.logBatch(info.runId, {
      metrics,
      params: [
        { key: 'lr', value: '0.1' },
        { key: 'long', value: 'p'.repeat(7000) },
      ],
      tags: [
        { key: 'dvc.stage', value: 'train' },
        { key: 'long', value: 't'.repeat(9000) },
        { key: 'dvc.stage', value: 'train@1' },
      ],
    });
    const endTime = startTime + 5000;
    await store.updateRun(info.runId, { status: 'FINISHED', endTime });

    assert.deepEqual(await store.getRun(info.runId), {
      info: { ...info, status: 'FINISHED', endTime },
      tags: {
        'mlflow.user': 'alice',
        'mlflow.source.type': 'LOCAL',
        'mlflow.runName': 'train',
        'dvc.stage': 'train@1',
        long: 't'.repeat(8000),
      },
      params: { lr: '0.1', long: 'p'.repeat(6000) },
      metrics: { loss: 0.25, bound: -Number.MAX_VALUE, 'epoch/acc': 0.9 },
      inputs: [],
    });
    assert.equal(await store.getRun('0123456789abcdef0123456789abcdef'), undefined);

    const [run] = inspectMlflow(uriOf(dir), { runIds: [info.runId], withHistory: true }).runs;
    assert.deepEqual(run!.info, {
      run_id: info.runId,
      run_name: 'train',
      experiment_id: '0',
      status: 'FINISHED',
      start_time: startTime,
      end_time: endTime,
      artifact_uri: artifactUri,
      lifecycle_stage: 'active',
      user_id: 'alice',
    });
    assert.deepEqual(run!.tags, {
      'mlflow.user': 'alice',
      'mlflow.source.type': 'LOCAL',
      'mlflow.runName': 'train',
      'dvc.stage': 'train@1',
      long: 't'.repeat(8000),
    });
    assert.deepEqual(run!.params, { lr: '0.1', long: 'p'.repeat(6000) });
    // Latest: the greatest (step, timestamp, value); NaN reads back as NaN, ±Inf as ±max double.
    assert.deepEqual(run!.metrics, { loss: 0.25, bound: -MAX, 'epoch/acc': 0.9 });
    assert.deepEqual(run!.history, {
      loss: [
        { value: 0.5, step: 0, timestamp: t },
        { value: 'nan', step: 1, timestamp: t + 1 },
        { value: 0.25, step: 2, timestamp: t + 2 },
      ],
      bound: [
        { value: MAX, step: 0, timestamp: t },
        { value: -MAX, step: 1, timestamp: t },
      ],
      'epoch/acc': [
        { value: 0.7, step: 10, timestamp: t },
        { value: 0.9, step: 20, timestamp: t },
        { value: 0.8, step: 15, timestamp: t + 5 },
      ],
    });
    const dbPath = path.join(dir, 'mlflow.db');
    assert.deepEqual(query(dbPath, 'SELECT count(*) AS n FROM metrics'), [{ n: 8 }]);
    assert.deepEqual(query(dbPath, "SELECT value, is_nan FROM metrics WHERE \"key\" = 'loss' AND step = 1"), [{ value: 0, is_nan: 1 }]);
    assert.deepEqual(
      query(dbPath, 'SELECT source_type, source_name, entry_point_name, source_version, deleted_time FROM runs'),
      [{ source_type: 'UNKNOWN', source_name: '', entry_point_name: '', source_version: '', deleted_time: null }],
    );
  });

  test('experiments: ids and locations as MLflow gives them, names unique even when deleted', async () => {
    const dir = freshDir();
    const store = open(dir);
    const id = await store.createExperiment('exp-a');
    assert.equal(id, '1');
    const expected = { experimentId: '1', name: 'exp-a', artifactLocation: `${dir}/mlruns/1`, lifecycleStage: 'active' };
    assert.deepEqual(await store.getExperiment('1'), expected);
    assert.deepEqual(await store.getExperimentByName('exp-a'), expected);
    assert.equal(await store.getExperiment('42'), undefined);
    assert.equal(await store.getExperimentByName('missing'), undefined);
    const notAnId = await rejection(store.getExperiment('exp-a'));
    assert.equal(notAnId.errorCode, 'INVALID_PARAMETER_VALUE');
    assert.equal(notAnId.message, "Invalid experiment ID 'exp-a'. Experiment ID must be a valid integer.");

    const again = await rejection(store.createExperiment('exp-a'));
    assert.equal(again.errorCode, 'RESOURCE_ALREADY_EXISTS');
    assert.equal(again.message, 'Experiment(name=exp-a) already exists. Error: UNIQUE constraint failed: experiments.workspace, experiments.name');

    assert.deepEqual(python(dir, 'client.delete_experiment("1")\nprint("{}")'), {});
    assert.deepEqual(await store.getExperimentByName('exp-a'), { ...expected, lifecycleStage: 'deleted' });
    assert.equal((await rejection(store.createExperiment('exp-a'))).errorCode, 'RESOURCE_ALREADY_EXISTS');
    const inDeleted = await rejection(store.createRun({ experimentId: '1', runName: 'r', startTime: 1, userId: 'u', tags: [] }));
    assert.equal(inDeleted.errorCode, 'INVALID_PARAMETER_VALUE');
    assert.equal(inDeleted.message, "The experiment 1 must be in the 'active' state. Current state is deleted.");
    const missing = await rejection(store.createRun({ experimentId: '7', runName: 'r', startTime: 1, userId: 'u', tags: [] }));
    assert.equal(missing.errorCode, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal(missing.message, 'No Experiment with id=7 exists');

    assert.equal(await store.createExperiment('exp-b'), '2');
    const answer = inspectMlflow(uriOf(dir), { experimentNames: ['exp-b', 'exp-a'] });
    assert.deepEqual(answer.experiments, {
      'exp-b': { experiment_id: '2', artifact_location: `${dir}/mlruns/2`, lifecycle_stage: 'active' },
      'exp-a': { experiment_id: '1', artifact_location: `${dir}/mlruns/1`, lifecycle_stage: 'deleted' },
    });
  });
});

describe('an existing database', () => {
  test('made by MLflow: the store writes into it as is, and MLflow reads both runs', async () => {
    const dir = freshDir();
    const made = python<{ experimentId: string; runId: string }>(
      dir,
      `from mlflow.entities import Metric, Param
eid = client.create_experiment("from-python")
run = client.create_run(eid, run_name="py-run")
client.log_batch(run.info.run_id, metrics=[Metric("loss", 1.5, 1000, 0)], params=[Param("lr", "0.1")])
print(json.dumps({"experimentId": eid, "runId": run.info.run_id}))`,
    );
    const dbPath = path.join(dir, 'mlflow.db');
    const before = fs.statSync(dbPath).size;
    assert.ok(before > 0);
    const store = open(dir);
    const experiment = await store.getExperimentByName('from-python');
    assert.deepEqual(experiment, {
      experimentId: made.experimentId,
      name: 'from-python',
      artifactLocation: `${dir}/mlruns/${made.experimentId}`,
      lifecycleStage: 'active',
    });
    const info = await store.createRun({ experimentId: made.experimentId, runName: 'ts-run', startTime: 2000, userId: 'bob', tags: [] });
    await store.logBatch(info.runId, { metrics: [{ key: 'loss', value: 0.5, timestamp: 3000, step: 3 }], params: [{ key: 'lr', value: '0.2' }] });
    await store.updateRun(info.runId, { status: 'FAILED', endTime: 4000 });
    // Into MLflow's own run too: its params are write-once for this store as well.
    await store.logBatch(made.runId, { metrics: [{ key: 'loss', value: 0.75, timestamp: 2000, step: 1 }], tags: [{ key: 'from', value: 'mlrun' }] });
    const changed = await rejection(store.logBatch(made.runId, { params: [{ key: 'lr', value: '0.3' }] }));
    assert.equal(changed.message, `Changing param values is not allowed. Params were already logged='[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.3'}]' for run ID='${made.runId}'.`);
    // A database that mlrun did not create keeps its journal mode.
    assert.deepEqual(query(dbPath, 'PRAGMA journal_mode'), [{ journal_mode: 'delete' }]);

    const answer = inspectMlflow(uriOf(dir), { runIds: [made.runId, info.runId], withHistory: true });
    const [py, ts] = answer.runs;
    assert.equal(py!.info.run_name, 'py-run');
    assert.equal(py!.info.status, 'RUNNING');
    assert.deepEqual(py!.params, { lr: '0.1' });
    assert.deepEqual(py!.tags, { 'mlflow.runName': 'py-run', from: 'mlrun' });
    assert.deepEqual(py!.metrics, { loss: 0.75 });
    assert.deepEqual(py!.history, {
      loss: [
        { value: 1.5, step: 0, timestamp: 1000 },
        { value: 0.75, step: 1, timestamp: 2000 },
      ],
    });
    assert.deepEqual(ts!.info, {
      run_id: info.runId,
      run_name: 'ts-run',
      experiment_id: made.experimentId,
      status: 'FAILED',
      start_time: 2000,
      end_time: 4000,
      artifact_uri: `${dir}/mlruns/${made.experimentId}/${info.runId}/artifacts`,
      lifecycle_stage: 'active',
      user_id: 'bob',
    });
    assert.deepEqual(ts!.params, { lr: '0.2' });
    assert.deepEqual(ts!.tags, { 'mlflow.runName': 'ts-run' });
    assert.deepEqual(ts!.history, { loss: [{ value: 0.5, step: 3, timestamp: 3000 }] });
  });
});

describe('MLflow semantics', () => {
  test('params are write-once: the same value again is fine, another value is an error', async () => {
    const dir = freshDir();
    const store = open(dir);
    const { runId } = await store.createRun({ experimentId: '0', runName: 'p', startTime: 1, userId: 'u', tags: [] });
    await store.logBatch(runId, { params: [{ key: 'lr', value: '0.1' }, { key: 'depth', value: '3' }] });
    await store.logBatch(runId, { params: [{ key: 'lr', value: '0.1' }] });
    const error = await rejection(store.logBatch(runId, {
      params: [{ key: 'lr', value: '0.2' }, { key: 'new', value: 'x' }],
      metrics: [{ key: 'm', value: 1, timestamp: 1, step: 0 }],
    }));
    assert.equal(error.errorCode, 'INVALID_PARAMETER_VALUE');
    assert.equal(
      error.message,
      `Changing param values is not allowed. Params were already logged='[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.2'}]' for run ID='${runId}'.`,
    );
    // Nothing of the failed batch was written.
    const run = await store.getRun(runId);
    assert.deepEqual(run!.params, { lr: '0.1', depth: '3' });
    assert.deepEqual(query(path.join(dir, 'mlflow.db'), 'SELECT count(*) AS n FROM metrics'), [{ n: 0 }]);
  });

  test('one call of any size is written whole: 12,000 points, 150 params, 150 tags', async () => {
    const dir = freshDir();
    const store = open(dir);
    const { runId } = await store.createRun({ experimentId: '0', runName: 'big', startTime: 1, userId: 'u', tags: [] });
    const metrics = Array.from({ length: 12_000 }, (_, i): Metric => ({ key: `k${i % 3}`, value: i, timestamp: 10 + i, step: i }));
    const params = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
    const tags = Array.from({ length: 150 }, (_, i) => ({ key: `t${i}`, value: String(i) }));
    await store.logBatch(runId, { metrics, params, tags });
    const dbPath = path.join(dir, 'mlflow.db');
    assert.deepEqual(query(dbPath, 'SELECT count(*) AS n FROM metrics'), [{ n: 12_000 }]);
    assert.deepEqual(query(dbPath, 'SELECT "key", value, step FROM latest_metrics ORDER BY "key"'), [
      { key: 'k0', value: 11_997, step: 11_997 },
      { key: 'k1', value: 11_998, step: 11_998 },
      { key: 'k2', value: 11_999, step: 11_999 },
    ]);
    const run = await store.getRun(runId);
    assert.equal(Object.keys(run!.params).length, 150);
    assert.equal(Object.keys(run!.tags).length, 151);
  });

  test('invalid input and inactive runs fail with the errors MLflow itself gives', async () => {
    // The same calls through MLflow's own SqlAlchemyStore, and then through this store.
    const cases = `
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
run_id = client.create_run("0", run_name="cases").info.run_id
deleted = client.create_run("0", run_name="gone").info.run_id
client.delete_run(deleted)
cases = {
    "bad path": lambda: client.log_batch(run_id, params=[Param("a/../b", "1")]),
    "empty key": lambda: client.log_batch(run_id, params=[Param("", "1")]),
    "trailing slash": lambda: client.log_batch(run_id, tags=[RunTag("dir/", "1")]),
    "bad character": lambda: client.log_batch(run_id, metrics=[Metric("it's", 1.0, 0, 0)]),
    "unicode": lambda: client.log_batch(run_id, metrics=[Metric("größe/été", 1.0, 0, 0)]),
    "long key": lambda: client.log_batch(run_id, tags=[RunTag("k" * 251, "v")]),
    "negative timestamp": lambda: client.log_batch(run_id, metrics=[Metric("m", 1.0, -1, 0)]),
    "duplicate params": lambda: client.log_batch(run_id, params=[Param("p", "1"), Param("q", "1"), Param("p", "1")]),
    "deleted run": lambda: client.log_batch(deleted, metrics=[Metric("m", 1.0, 0, 0)]),
    "deleted run update": lambda: client.update_run(deleted, "FINISHED", 5),
    "missing run": lambda: client.log_batch("0123456789abcdef0123456789abcdef", tags=[RunTag("a", "b")]),
    "bad run id": lambda: client.log_batch("-x", tags=[RunTag("a", "b")]),
}
out = {}
for name, call in cases.items():
    try:
        call()
        out[name] = "ok"
    except MlflowException as e:
        out[name] = {"code": e.error_code, "message": e.message.replace(run_id, "<run>").replace(deleted, "<deleted>")}
print(json.dumps(out))`;
    const mlflow = python<Record<string, unknown>>(freshDir(), cases);

    const dir = freshDir();
    const store = open(dir);
    const run = await store.createRun({ experimentId: '0', runName: 'cases', startTime: 1, userId: 'u', tags: [] });
    const deleted = await store.createRun({ experimentId: '0', runName: 'gone', startTime: 1, userId: 'u', tags: [] });
    python(dir, 'client.delete_run(sys.argv[1])\nprint("{}")', deleted.runId);
    const m = (key: string, timestamp = 0): Metric => ({ key, value: 1, timestamp, step: 0 });
    const ours: Record<string, () => Promise<unknown>> = {
      'bad path': () => store.logBatch(run.runId, { params: [{ key: 'a/../b', value: '1' }] }),
      'empty key': () => store.logBatch(run.runId, { params: [{ key: '', value: '1' }] }),
      'trailing slash': () => store.logBatch(run.runId, { tags: [{ key: 'dir/', value: '1' }] }),
      'bad character': () => store.logBatch(run.runId, { metrics: [m("it's")] }),
      unicode: () => store.logBatch(run.runId, { metrics: [m('größe/été')] }),
      'long key': () => store.logBatch(run.runId, { tags: [{ key: 'k'.repeat(251), value: 'v' }] }),
      'negative timestamp': () => store.logBatch(run.runId, { metrics: [m('m', -1)] }),
      'duplicate params': () => store.logBatch(run.runId, { params: [{ key: 'p', value: '1' }, { key: 'q', value: '1' }, { key: 'p', value: '1' }] }),
      'deleted run': () => store.logBatch(deleted.runId, { metrics: [m('m')] }),
      'deleted run update': () => store.updateRun(deleted.runId, { status: 'FINISHED', endTime: 5 }),
      'missing run': () => store.logBatch('0123456789abcdef0123456789abcdef', { tags: [{ key: 'a', value: 'b' }] }),
      'bad run id': () => store.logBatch('-x', { tags: [{ key: 'a', value: 'b' }] }),
    };
    const got: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(ours)) {
      try {
        await call();
        got[name] = 'ok';
      } catch (error) {
        assert.ok(error instanceof TrackingError);
        got[name] = { code: error.errorCode, message: error.message.replaceAll(run.runId, '<run>').replaceAll(deleted.runId, '<deleted>') };
      }
    }
    assert.deepEqual(got, mlflow);
    assert.equal(got.unicode, 'ok');
  });
});

describe('durable writes', () => {
  test('writeDurably commits with synchronous=FULL, overlapping ones too, and leaves NORMAL as it was', async () => {
    const connection = new Connection(path.join(freshDir(), 'mlflow.db'));
    try {
      connection.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE t (x)');
      const synchronous = () => Number(connection.statement('PRAGMA synchronous').get()!.synchronous);
      const write = (x: number) => () => {
        connection.statement('INSERT INTO t VALUES (?)').run(x);
        return synchronous();
      };
      // A second connection holds the write lock, so both durable writes wait and overlap.
      const other = new DatabaseSync(connection.db.location()!);
      other.exec('BEGIN IMMEDIATE');
      const first = connection.writeDurably(write(1));
      const second = connection.writeDurably(write(2));
      await new Promise((resolve) => setTimeout(resolve, 300));
      other.exec('COMMIT');
      other.close();
      assert.deepEqual(await Promise.all([first, second]), [2, 2]);
      assert.equal(synchronous(), 1);
      assert.equal(await connection.write(write(3)), 1);
      assert.deepEqual(connection.db.prepare('SELECT x FROM t ORDER BY x').all().map((row) => row.x), [1, 2, 3]);
    } finally {
      connection.close();
    }
  });
});

describe('many writers at once', () => {
  test('8 processes create one new database and log 20,000 points each: nothing locked, nothing lost', async (t) => {
    const dir = freshDir();
    const dbPath = path.join(dir, 'mlflow.db');
    // A common start time so that all of them race to create the database.
    const startAt = Date.now() + 2000;
    const writers = Array.from({ length: 8 }, () => runWriter(dbPath, startAt, 20_000, 1000));
    const results = await Promise.all(writers);
    const elapsed = Date.now() - startAt;
    for (const result of results) {
      assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 0, stderr: '' });
      assert.match(result.stdout, /^[0-9a-f]{32}\n$/);
    }
    const runIds = results.map((result) => result.stdout.trim());
    assert.equal(new Set(runIds).size, 8);
    assert.deepEqual(query(dbPath, 'SELECT count(*) AS n FROM metrics'), [{ n: 160_000 }]);
    assert.deepEqual(
      query(dbPath, 'SELECT run_uuid, count(*) AS n FROM metrics GROUP BY run_uuid ORDER BY run_uuid'),
      [...runIds].sort().map((runUuid) => ({ run_uuid: runUuid, n: 20_000 })),
    );
    assert.deepEqual(query(dbPath, 'SELECT experiment_id, name FROM experiments'), [{ experiment_id: 0, name: 'Default' }]);
    const answer = inspectMlflow(uriOf(dir), { experimentIds: ['0'] });
    assert.equal(answer.runs.length, 8);
    for (const run of answer.runs) {
      assert.equal(run.info.status, 'FINISHED');
      assert.deepEqual(run.metrics, { m0: 19996 / 7, m1: 19997 / 7, m2: 19998 / 7, m3: 19999 / 7 });
    }
    t.diagnostic(`8 writers x 20,000 points into a new database: ${elapsed} ms after the common start`);
  });

  test('mlflow server reads and writes a database while the store writes it', async () => {
    const dir = freshDir();
    const store = open(dir);
    await store.getExperiment('0');
    const server = await startMlflowServer({ dir });
    try {
      const writers = Array.from({ length: 3 }, () => runWriter(path.join(dir, 'mlflow.db'), Date.now(), 20_000, 1000));
      const call = async (endpoint: string, body: unknown) => {
        const response = await fetch(`${server.uri}/api/2.0/mlflow/${endpoint}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        assert.equal(response.status, 200, await response.clone().text());
        return (await response.json()) as Record<string, any>;
      };
      const created = await call('runs/create', { experiment_id: '0', run_name: 'via-server', start_time: Date.now() });
      const serverRunId = created.run.info.run_id as string;
      for (let batch = 0; batch < 20; batch++) {
        const metrics = Array.from({ length: 100 }, (_, i) => ({ key: 'srv', value: i, timestamp: 1000 + batch * 100 + i, step: batch * 100 + i }));
        await call('runs/log-batch', { run_id: serverRunId, metrics });
        await call('runs/search', { experiment_ids: ['0'], max_results: 50 });
      }
      const results = await Promise.all(writers);
      for (const result of results) assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 0, stderr: '' });
      const search = await call('runs/search', { experiment_ids: ['0'], max_results: 50 });
      assert.equal(search.runs.length, 4);
      const dbPath = path.join(dir, 'mlflow.db');
      assert.deepEqual(query(dbPath, 'SELECT count(*) AS n FROM metrics'), [{ n: 3 * 20_000 + 2000 }]);
      const serverRun = await store.getRun(serverRunId);
      assert.equal(serverRun!.info.runName, 'via-server');
      assert.equal(serverRun!.info.artifactUri, `${dir}/mlruns/0/${serverRunId}/artifacts`);
    } finally {
      await server.stop();
    }
  });
});

interface WriterResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runWriter(dbPath: string, startAt: number, points: number, batch: number): Promise<WriterResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, dbPath, String(startAt), String(points), String(batch)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
