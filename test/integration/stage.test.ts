// The stage shim end to end, through build/mlrun: the command is untouched, and exactly one run
// is created, nested and closed right, on a real mlflow server and on the embedded store.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { cleanEnv, runMlrun, type MlrunResult } from '../support/mlrun.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { createParentRun } from '../support/python-setup.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { mlrunBinary, repoRoot, venvBin } from '../support/paths.ts';
import { tempProject } from '../support/project.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';

const HEX32 = /^[0-9a-f]{32}$/;

/** The run ids mlrun handed to its command, which prints them first. */
const PRINT_RUN_ID = 'echo "run=$MLFLOW_RUN_ID exp=$MLFLOW_EXPERIMENT_ID uri=$MLFLOW_TRACKING_URI"';

function childRunId(result: MlrunResult): string {
  const id = /run=(\w+)/.exec(result.stdout.toString())?.[1];
  assert.ok(id, `no run id in output: ${result.stdout.toString()} ${result.stderr}`);
  return id;
}

interface Case {
  name: string;
  script: string;
  exitCode: number;
  status: string;
  signal?: NodeJS.Signals;
}

const CASES: Case[] = [
  { name: 'exit 0', script: `${PRINT_RUN_ID}; exit 0`, exitCode: 0, status: 'FINISHED' },
  { name: 'exit 3', script: `${PRINT_RUN_ID}; exit 3`, exitCode: 3, status: 'FAILED' },
  // The command waits for mlrun to forward the SIGTERM the test sends to mlrun. (`exec`: a sleep
  // left behind by a killed shell would hold the output open for 30 s, through mlrun's relay.)
  { name: 'SIGTERM', script: `${PRINT_RUN_ID}; exec sleep 30`, exitCode: 143, status: 'KILLED', signal: 'SIGTERM' },
];

async function runCase(c: Case, args: string[], cwd: string, env: Record<string, string>): Promise<MlrunResult> {
  return runMlrun([...args, '--', 'sh', '-c', c.script], {
    cwd,
    env,
    onStdout: (chunk) => {
      // The command has started (it printed): now signal mlrun, which forwards it.
      if (c.signal && chunk.toString().includes('run=')) setTimeout(() => process.kill(pid, c.signal), 100);
    },
    onSpawn: (child) => {
      pid = child.pid!;
    },
  });
}
let pid = 0;

function assertCommonTags(run: PyRun, expected: { name: string; parent?: string; exitCode: number }): void {
  assert.equal(run.tags['mlflow.runName'], expected.name);
  assert.equal(run.info.run_name, expected.name);
  assert.equal(run.tags['mlflow.user'], os.userInfo().username);
  assert.equal(run.tags['mlflow.source.type'], 'LOCAL');
  assert.equal(run.tags['mlflow.source.name'], 'sh');
  assert.equal(run.tags['mlrun.exit_code'], String(expected.exitCode));
  assert.match(run.tags['mlrun.command']!, /^sh -c /);
  assert.equal(run.tags['mlflow.parentRunId'], expected.parent);
  assert.equal(run.tags.team, 'vision');
  assert.ok(run.info.start_time > 0, 'start_time set');
  assert.ok(run.info.end_time !== null && run.info.end_time >= run.info.start_time, 'end_time set after start');
}

describe('on a real mlflow server', () => {
  let uri = '';
  let parent = { experimentId: '', runId: '' };
  const cwd = tempProject('stage');
  before(async () => {
    uri = await sharedServerUri();
    parent = createParentRun(uri, `stage-shim-${process.pid}`);
  });

  for (const c of CASES) {
    test(`${c.name}: one child run, nested, status ${c.status}, exit ${c.exitCode}`, async () => {
      const result = await runCase(c, ['--tag', 'team=vision', '--name', 'train'], cwd, {
        MLFLOW_TRACKING_URI: uri,
        MLFLOW_RUN_ID: parent.runId,
      });
      assert.equal(result.code, c.exitCode, result.stderr);
      assert.deepEqual(result.messages, []);
      const id = childRunId(result);
      assert.match(id, HEX32);
      assert.match(result.stdout.toString(), new RegExp(`exp=${parent.experimentId} uri=${uri}`));
      const [run] = inspectMlflow(uri, { runIds: [id] }).runs;
      assert.equal(run!.info.status, c.status);
      assert.equal(run!.info.experiment_id, parent.experimentId);
      assertCommonTags(run!, { name: 'train', parent: parent.runId, exitCode: c.exitCode });
      if (c.signal) assert.equal(run!.tags['mlrun.signal'], c.signal);
    });
  }

  test('a missing command: exit 127, one message, a FAILED run, and exactly one child in all', async () => {
    const result = await runMlrun(['--tag', 'team=vision', '--', 'no-such-command-xyz', '--flag'], {
      cwd,
      env: { MLFLOW_TRACKING_URI: uri, MLRUN_PARENT_RUN_ID: parent.runId },
    });
    assert.equal(result.code, 127);
    assert.deepEqual(result.messages, ['mlrun: no-such-command-xyz: command not found']);
    const answer = inspectMlflow(uri, { experimentIds: [parent.experimentId] });
    const children = answer.runs.filter((r) => r.tags['mlflow.parentRunId'] === parent.runId);
    // the three cases above and this one
    assert.equal(children.length, CASES.length + 1);
    const missing = children.find((r) => r.tags['mlrun.exit_code'] === '127')!;
    assert.equal(missing.info.status, 'FAILED');
    assert.equal(missing.info.run_name, 'no-such-command-xyz');
    assert.equal(missing.tags['mlrun.command'], 'no-such-command-xyz --flag');
  });

  test('MLflow Python code inside the command logs into the child run', async () => {
    // MLflow consumes MLFLOW_RUN_ID from os.environ when it resumes the run: read it first.
    const script = 'import mlflow, os; rid = os.environ["MLFLOW_RUN_ID"]; mlflow.log_metric("inner", 2.5); mlflow.log_param("p", "v"); print(rid)';
    const result = await runMlrun(['--', path.join(venvBin, 'python'), '-c', script], {
      cwd,
      env: { MLFLOW_TRACKING_URI: uri, MLFLOW_RUN_ID: parent.runId },
    });
    assert.equal(result.code, 0, result.stderr);
    // MLflow prints its own 'View run ...' lines after ours when the run ends.
    const id = result.stdout.toString().split('\n')[0]!;
    const [run] = inspectMlflow(uri, { runIds: [id] }).runs;
    assert.equal(run!.tags['mlflow.parentRunId'], parent.runId);
    assert.deepEqual(run!.metrics, { inner: 2.5 });
    assert.deepEqual(run!.params, { p: 'v' });
    assert.equal(run!.info.status, 'FINISHED');
  });

  test("under its pipeline's parent, a stage costs the server three requests: create, one log-batch, update", async (t) => {
    const proxy = await startFaultProxy(uri);
    t.after(() => proxy.close());
    // As `mlrun pipeline` hands its stages the parent: with its experiment, so it is not looked up.
    const name = `three-requests-${process.pid}`;
    const result = await runMlrun(['--name', name, '--', 'true'], {
      cwd,
      env: { MLFLOW_TRACKING_URI: proxy.uri, MLRUN_PARENT_RUN_ID: parent.runId, MLRUN_PARENT_EXPERIMENT: `${parent.runId}/${parent.experimentId}` },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    assert.deepEqual(proxy.log, ['POST /api/2.0/mlflow/runs/create 200', 'POST /api/2.0/mlflow/runs/log-batch 200', 'POST /api/2.0/mlflow/runs/update 200']);
    const run = inspectMlflow(uri, { experimentIds: [parent.experimentId] }).runs.find((r) => r.info.run_name === name);
    assert.equal(run!.info.status, 'FINISHED');
    assert.equal(run!.tags['mlrun.exit_code'], '0');
    assert.equal(run!.tags['mlflow.parentRunId'], parent.runId);
    assert.ok('system/process_cpu_seconds' in run!.system.metrics, JSON.stringify(run!.system.metrics));
  });

  test('an experiment by name is created and used when there is no parent', async () => {
    const name = `by-name-${process.pid}`;
    const result = await runMlrun(['--experiment', name, '--', 'sh', '-c', PRINT_RUN_ID], { cwd, env: { MLFLOW_TRACKING_URI: uri } });
    assert.equal(result.code, 0, result.stderr);
    const answer = inspectMlflow(uri, { runIds: [childRunId(result)], experimentNames: [name] });
    assert.equal(answer.runs[0]!.info.experiment_id, answer.experiments[name]!.experiment_id);
    assert.equal(answer.runs[0]!.tags['mlflow.parentRunId'], undefined);
  });
});

describe('on the embedded store (mlflow.db at the project root)', () => {
  const project = tempProject('stage');
  const stageDir = path.join(project, 'stages', 'train');
  fs.mkdirSync(stageDir, { recursive: true });
  // The stage DVC_STAGE names below (its command does not matter for finding it by name).
  fs.writeFileSync(path.join(stageDir, 'dvc.yaml'), 'stages:\n  train:\n    cmd: mlrun -- sh -c exit\n');
  const dbUri = `sqlite:///${path.join(project, 'mlflow.db')}`;
  let parent = { experimentId: '', runId: '' };

  test('the first run creates mlflow.db at the project root, not in the stage folder', async () => {
    // Found from the stage folder through the .dvc folder above it, as outside DVC.
    const result = await runMlrun(['--', 'sh', '-c', PRINT_RUN_ID], { cwd: stageDir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    assert.ok(fs.existsSync(path.join(project, 'mlflow.db')));
    assert.ok(!fs.existsSync(path.join(stageDir, 'mlflow.db')));
    assert.match(result.stdout.toString(), new RegExp(`uri=${dbUri.replace(/[/.]/g, '\\$&')}$`, 'm'));
    const [run] = inspectMlflow(dbUri, { runIds: [childRunId(result)] }).runs;
    assert.equal(run!.info.status, 'FINISHED');
    assert.equal(run!.info.experiment_id, '0');
    assert.equal(run!.info.run_name, 'sh');
  });

  for (const c of CASES) {
    test(`${c.name}: one child run, nested, status ${c.status}, exit ${c.exitCode}`, async () => {
      if (!parent.runId) parent = createParentRun(dbUri, 'embedded-parents');
      const result = await runCase(c, ['--tag', 'team=vision'], stageDir, {
        DVC_ROOT: project,
        DVC_STAGE: 'stages/train/dvc.yaml:train',
        MLFLOW_RUN_ID: parent.runId,
      });
      assert.equal(result.code, c.exitCode, result.stderr);
      assert.deepEqual(result.messages, []);
      const [run] = inspectMlflow(dbUri, { runIds: [childRunId(result)] }).runs;
      assert.equal(run!.info.status, c.status);
      assert.equal(run!.info.experiment_id, parent.experimentId);
      assert.equal(run!.tags['dvc.stage'], 'train');
      assert.equal(run!.tags['dvc.yaml'], 'stages/train/dvc.yaml');
      assertCommonTags(run!, { name: 'train', parent: parent.runId, exitCode: c.exitCode });
    });
  }
});

const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

describe('a stage run from uncommitted changes, on the embedded store', () => {
  test('tagged mlrun.git.dirty, its diff kept (cut at 1 MiB, secrets out), what the pipeline wrote left out; described; no empty output log', async () => {
    const project = tempProject('dirty', {
      'dvc.yaml': 'stages:\n  fit:\n    desc: Fit the model\n    cmd: mlrun -- sh fit.sh\n    metrics:\n      - score.json:\n          cache: false\n',
      'fit.sh': 'echo "$MLFLOW_RUN_ID" > run-id.txt\n',
      'score.json': '{"s": 1}\n',
      'dvc.lock': 'schema: "2.0"\n',
      'notes.txt': Array.from({ length: 30_000 }, (_, i) => `line ${i}`).join('\n'),
    });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: project, maxBuffer: 64 << 20 });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'start');
    // Changed by hand: more than 1 MiB of diff. Changed by the pipeline (an earlier stage, DVC): left out.
    const secretLines = 'token s3cr3t-value-xyz\nremote https://user:pw@data.example/x\n';
    fs.writeFileSync(path.join(project, 'notes.txt'), secretLines + Array.from({ length: 30_000 }, (_, i) => `changed line ${i} ${'x'.repeat(40)}`).join('\n'));
    fs.appendFileSync(path.join(project, 'dvc.lock'), 'stages: {}\n');
    fs.writeFileSync(path.join(project, 'score.json'), '{"s": 2}\n');

    const env = { DVC_ROOT: project, DVC_STAGE: 'fit', MY_API_TOKEN: 's3cr3t-value-xyz' };
    const result = await runMlrun(['--', 'sh', 'fit.sh'], { cwd: project, env });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    assert.equal(result.stdout.length + result.stderr.length, 0);
    const runId = fs.readFileSync(path.join(project, 'run-id.txt'), 'utf8').trim();
    const [run] = inspectMlflow(`sqlite:///${path.join(project, 'mlflow.db')}`, { runIds: [runId], withArtifactDigests: true }).runs;
    assert.equal(run!.tags['mlrun.git.dirty'], 'true');
    assert.equal(run!.tags['mlflow.note.content'], 'Fit the model');
    const full = git('diff', 'HEAD', '--no-color', '--', 'notes.txt');
    assert.ok(full.length > 1024 * 1024);
    const redacted = full.subarray(0, 1024 * 1024).toString().replace('s3cr3t-value-xyz', '***').replace('user:pw@', '***@');
    assert.notEqual(redacted, full.subarray(0, 1024 * 1024).toString());
    const kept = Buffer.from(`${redacted}\n[mlrun: the diff is longer than 1048576 bytes: cut here]\n`);
    assert.deepEqual(run!.artifact_sha256, { 'mlrun/git.diff': sha(kept), 'score.json': sha(Buffer.from('{"s": 2}\n')) });
  });
});

describe('the command is untouched', () => {
  const cwd = tempProject('stage');

  test('50 MB of random bytes on stdout arrive byte-identical', async () => {
    const file = path.join(cwd, 'random.bin');
    fs.writeFileSync(file, crypto.randomBytes(50 * 1024 * 1024));
    const result = await runMlrun(['--', 'cat', file], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.length, 50 * 1024 * 1024);
    assert.equal(sha(result.stdout), sha(fs.readFileSync(file)));
    fs.rmSync(file);
  });

  test("a reader of mlrun's output that starts late and reads slowly still gets every byte", () => {
    // mlrun's stdout fills up and mlrun waits for room, then goes on: nothing lost, nothing stuck.
    const file = path.join(cwd, 'lines.txt');
    fs.writeFileSync(file, Array.from({ length: 400_000 }, (_, i) => `value=${i}\n`).join(''));
    const script = '"$@" | { sleep 1; while IFS= read -r line; do printf "%s\\n" "$line"; done; } > out.txt; echo "${PIPESTATUS[0]}"';
    const result = spawnSync('bash', ['-c', script, 'bash', mlrunBinary, '--', 'cat', file], { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
    assert.equal(result.signal, null, 'the pipeline did not finish within 60 s');
    assert.equal(result.stdout, '0\n', result.stderr);
    assert.equal(sha(fs.readFileSync(path.join(cwd, 'out.txt'))), sha(fs.readFileSync(file)));
  });

  test('stdin passes through and stderr stays separate', async () => {
    const result = await runMlrun(['--', 'sh', '-c', 'cat; echo to-stderr >&2'], { cwd, input: 'line one\nline two' });
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), 'line one\nline two');
    assert.equal(result.stderr, 'to-stderr\n');
  });

  // `mlrun -- cmd | head`: once head has gone, the command must end as it would without mlrun
  // (yes dies of SIGPIPE without a word; Python raises BrokenPipeError), not of a reset socket.
  const pipelineCases: [string, string[]][] = [
    ['yes', ['yes']],
    ['Python', [path.join(venvBin, 'python'), '-c', 'while True: print("x" * 100)']],
  ];
  for (const [label, argv] of pipelineCases) {
    test(`${label} | head: the command ends as in a shell pipeline, same exit code and stderr`, async () => {
      const script = '"$@" 2>err.txt | head -c 10 > /dev/null; echo "${PIPESTATUS[0]}"; cat err.txt';
      const pipeline = (prefix: string[]) => spawnSync('bash', ['-c', script, 'bash', ...prefix, ...argv], { cwd, encoding: 'utf8', env: cleanEnv() });
      const alone = pipeline([]);
      const wrapped = pipeline([mlrunBinary, '--']);
      assert.equal(alone.status, 0, alone.stderr);
      assert.match(alone.stdout, /^(141|1|120)\n/);
      assert.equal(wrapped.stdout, alone.stdout);
    });
  }

  test('without mkfifo on the PATH, the output still passes through (socket pairs instead of pipes)', async () => {
    const emptyPath = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-no-mkfifo-'));
    const result = await runMlrun(['--', '/bin/sh', '-c', 'echo out; echo err >&2'], { cwd, env: { PATH: emptyPath } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), 'out\n');
    assert.equal(result.stderr, 'err\n');
    fs.rmSync(emptyPath, { recursive: true });
  });

  test('a line appears as soon as the command prints it, not at exit', async () => {
    let firstAt = 0;
    const started = Date.now();
    const result = await runMlrun(['--', 'sh', '-c', 'echo first; sleep 3; echo second'], {
      cwd,
      onStdout: () => {
        firstAt ||= Date.now();
      },
    });
    assert.equal(result.stdout.toString(), 'first\nsecond\n');
    const end = Date.now();
    assert.ok(end - firstAt >= 2500, `first line came ${end - firstAt} ms before the end (expected ~3000)`);
    assert.ok(firstAt - started < end - started);
  });

  const exitCases: [string, string[], number][] = [
    ['0', ['sh', '-c', 'exit 0'], 0],
    ['1', ['sh', '-c', 'exit 1'], 1],
    ['3', ['sh', '-c', 'exit 3'], 3],
    ['127 (not found)', ['./does-not-exist'], 127],
    ['130 (SIGINT)', ['sh', '-c', 'kill -INT $$'], 130],
    ['143 (SIGTERM)', ['sh', '-c', 'kill -TERM $$'], 143],
  ];
  for (const [label, argv, code] of exitCases) {
    test(`exit code ${label} comes back unchanged`, async () => {
      const result = await runMlrun(['--', ...argv], { cwd });
      assert.equal(result.code, code, result.stderr);
    });
  }

  test('exit code 126 for a file that is not executable, with one message', async () => {
    const script = path.join(cwd, 'not-executable.sh');
    fs.writeFileSync(script, 'echo hi\n', { mode: 0o644 });
    const result = await runMlrun(['--', script], { cwd });
    assert.equal(result.code, 126);
    assert.deepEqual(result.messages, [`mlrun: ${script}: permission denied (not executable)`]);
  });

  test('SIGINT and SIGHUP sent to mlrun reach the command', async () => {
    for (const [signal, code] of [['SIGINT', 130], ['SIGHUP', 129]] as const) {
      let child = 0;
      const result = await runMlrun(['--', 'sh', '-c', `trap 'echo got-${signal}; exit ${code}' ${signal.slice(3)}; echo ready; while :; do sleep 0.1; done`], {
        cwd,
        onSpawn: (c) => (child = c.pid!),
        onStdout: (chunk) => {
          if (chunk.toString().includes('ready')) process.kill(child, signal);
        },
      });
      assert.equal(result.code, code);
      assert.equal(result.stdout.toString(), `ready\ngot-${signal}\n`);
    }
  });
});

describe('an unreachable server', () => {
  const cwd = tempProject('stage');
  for (const kind of ['closed port', 'port that never answers'] as const) {
    test(`${kind}: the command runs within 5 s, exit code unchanged, one warning`, async (t) => {
      const net = await import('node:net');
      const sockets: import('node:net').Socket[] = [];
      const server = net.createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as import('node:net').AddressInfo).port;
      if (kind === 'closed port') await new Promise((resolve) => server.close(resolve));
      t.after(() => {
        sockets.forEach((s) => s.destroy());
        server.close();
      });
      const started = Date.now();
      let commandStartedAt = 0;
      const result = await runMlrun(['--', 'sh', '-c', 'echo started; exit 5'], {
        cwd,
        env: { MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` },
        onStdout: () => {
          commandStartedAt ||= Date.now();
        },
      });
      const total = Date.now() - started;
      assert.equal(result.code, 5);
      assert.equal(result.stdout.toString(), 'started\n');
      assert.ok(commandStartedAt - started < 5000, `the command started after ${commandStartedAt - started} ms`);
      assert.ok(total < 10_000, `mlrun took ${total} ms in all`);
      assert.equal(result.messages.length, 1, result.stderr);
      assert.match(result.messages[0]!, /^mlrun: .*127\.0\.0\.1.*recording the run locally in \.mlrun\/offline\/mlflow\.db; 'mlrun sync' delivers it later$/);
      // Nothing lost: the run is in the offline record, closed with the command's outcome.
      const offline = `sqlite:///${path.join(cwd, '.mlrun', 'offline', 'mlflow.db')}`;
      const runs = inspectMlflow(offline, { experimentIds: ['0'] }).runs;
      const mine = runs.filter((r) => r.tags['mlrun.offline.server'] === `http://127.0.0.1:${port}`);
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.info.status, 'FAILED');
      assert.equal(mine[0]!.tags['mlrun.exit_code'], '5');
    });
  }
});

describe('usage errors exit 2 before the command starts', () => {
  const cwd = tempProject('stage');
  const cases: [string, string[], RegExp][] = [
    ['unknown option', ['--no-such-flag', '--', 'touch', 'ran'], /^mlrun: unknown option '--no-such-flag'/],
    ['missing --', ['touch', 'ran'], /^mlrun: missing '--' before the command: write mlrun \[options\] -- touch ran$/],
    ['no command after --', ['--'], /^mlrun: no command after '--'$/],
    ['a tag that is not key=value', ['--tag', 'oops', '--', 'touch', 'ran'], /^mlrun: --tag 'oops' is not key=value$/],
    ['an unknown tracking URI scheme', ['--tracking-uri', 'ftp://user:secret@host/x', '--', 'touch', 'ran'], /^mlrun: tracking URI ftp:\/\/\*\*\*@host\/x uses the 'ftp:' scheme/],
  ];
  for (const [label, args, message] of cases) {
    test(label, async () => {
      const result = await runMlrun(args, { cwd });
      assert.equal(result.code, 2);
      assert.equal(result.messages.length, 1, result.stderr);
      assert.match(result.messages[0]!, message);
      assert.ok(!fs.existsSync(path.join(cwd, 'ran')), 'the command must not have run');
    });
  }

  test('--help and --version exit 0', async () => {
    const help = await runMlrun(['--help'], { cwd });
    assert.equal(help.code, 0);
    assert.match(help.stdout.toString(), /Usage: mlrun \[options\] -- <command> \[args\.\.\.\]/);
    const version = await runMlrun(['--version'], { cwd });
    assert.equal(version.code, 0);
    // The version of package.json, the commit the executable was built from, the platform it runs on.
    const { version: packageVersion } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const stamped = version.stdout.toString().match(/^mlrun (\S+) \(commit ([0-9a-f]{7}(?:-dirty)?), (\S+)\)\n$/);
    assert.ok(stamped, version.stdout.toString());
    assert.equal(stamped[1], packageVersion);
    assert.equal(stamped[3], `${process.platform}-${process.arch}`);
  });
});
