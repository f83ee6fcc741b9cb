// `node scripts/train-code-cache.ts BUNDLE OUTFILE`: records the V8 code cache the executable
// starts the bundle with (see src/sea/bundle-script.ts). The bundle runs a DVC stage twice in this
// process, once into the embedded store and once into a stand-in MLflow server, and the cache is
// taken afterwards, so it holds every function those runs compiled. The stage's own output goes
// to stdout; mlrun's warnings, if any, to stderr.
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { compileBundle, runBundle } from '../src/sea/bundle-script.ts';
import { openSqliteStore } from '../src/tracking/sqlite/store.ts';

const STAGE_COMMAND = 'echo "epoch=1 loss=0.5"; echo \'{"acc": 0.9}\' > metrics.json; echo model > model.txt';
const STAND_IN_PARENT = '0'.repeat(32);

const [bundlePath, outPath] = process.argv.slice(2);
if (!bundlePath || !outPath) throw new Error('usage: node scripts/train-code-cache.ts BUNDLE OUTFILE');
const bundle = path.resolve(bundlePath);
const outfile = path.resolve(outPath);
const source = fs.readFileSync(bundle, 'latin1');
const script = compileBundle(source);
// mlrun ends with process.exit: here it ends the current run instead (see runMlrun).
const exitProcess = process.exit.bind(process);
let onExit: (code: number) => void = () => undefined;
process.exit = ((code?: number) => onExit(code ?? 0)) as typeof process.exit;
// The builder's own tracking settings must not send the training runs anywhere.
for (const key of Object.keys(process.env)) if (/^(MLFLOW_|MLRUN_|DVC_)/.test(key)) delete process.env[key];

const project = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-train-'));
const failure = await recordCodeCache(project).then(() => undefined, (error: unknown) => error);
process.chdir(os.tmpdir());
fs.rmSync(project, { recursive: true, force: true });
if (failure) console.error(failure);
exitProcess(failure ? 1 : 0);

async function recordCodeCache(project: string): Promise<void> {
  const parentRunId = await writeProject(project);
  const server = await startStandInServer();
  const serverUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stageEnv = { DVC_STAGE: 'train', DVC_ROOT: project, MLRUN_PARENT_RUN_ID: parentRunId };
  process.chdir(project);
  try {
    await runMlrun(['--', 'sh', '-c', STAGE_COMMAND], stageEnv);
    await runMlrun(['--', 'sh', '-c', STAGE_COMMAND], { ...stageEnv, MLRUN_PARENT_RUN_ID: STAND_IN_PARENT, MLFLOW_TRACKING_URI: serverUri });
  } finally {
    server.closeAllConnections();
    server.close();
  }
  const cache = script.createCachedData();
  if (compileBundle(source, cache).cachedDataRejected) throw new Error('V8 rejected the code cache it just made');
  fs.writeFileSync(outfile, cache);
}

/** A git + DVC project with one stage (params, an output, a metrics file) and a parent run in its mlflow.db. */
async function writeProject(dir: string): Promise<string> {
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  write('.dvc/config', '');
  write('.git/HEAD', 'ref: refs/heads/main\n');
  write('.git/refs/heads/main', `${'1'.repeat(40)}\n`);
  write('.git/config', '[remote "origin"]\n\turl = https://example.com/project.git\n');
  write('params.yaml', 'train:\n  lr: 0.1\n  epochs: 2\n');
  write(
    'dvc.yaml',
    ['stages:', '  train:', '    cmd: mlrun -- sh train.sh', '    params:', '      - train', '    outs:', '      - model.txt',
      '    metrics:', '      - metrics.json:', '          cache: false', ''].join('\n'),
  );
  const store = openSqliteStore(path.join(dir, 'mlflow.db'));
  const parent = await store.createRun({ experimentId: '0', runName: 'pipeline', startTime: Date.now(), userId: 'train', tags: [] });
  await store.close();
  return parent.runId;
}

/** Runs the bundle as `mlrun ARGS` until it calls process.exit. */
async function runMlrun(args: string[], env: Record<string, string>): Promise<void> {
  const { argv } = process;
  const code = new Promise<number>((resolve) => (onExit = resolve));
  process.argv = [process.execPath, bundle, ...args];
  Object.assign(process.env, env);
  const module = { exports: {} };
  runBundle(script, { exports: module.exports, require: createRequire(bundle), module, filename: bundle, dirname: path.dirname(bundle) });
  const status = await code;
  process.argv = argv;
  process.exitCode = 0;
  for (const key of Object.keys(env)) delete process.env[key];
  if (status !== 0) throw new Error(`mlrun ${args.join(' ')} exited with ${status} while recording the code cache`);
}

/** Answers what a stage asks of an MLflow server, as the server would. */
function startStandInServer(): Promise<http.Server> {
  const runInfo = (runId: string) => ({
    run_id: runId, experiment_id: '1', run_name: 'train', status: 'RUNNING', start_time: Date.now(),
    artifact_uri: `mlflow-artifacts:/1/${runId}/artifacts`, lifecycle_stage: 'active',
  });
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const endpoint = new URL(request.url!, 'http://localhost').pathname;
      const answer =
        endpoint === '/api/2.0/mlflow/runs/get' ? { run: { info: runInfo(STAND_IN_PARENT), data: {} } }
        : endpoint === '/api/2.0/mlflow/runs/create' ? { run: { info: runInfo('1'.repeat(32)), data: {} } }
        : {};
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
