// What a stage's processes cost, measured by mlrun from outside whatever language the stage is
// in: a C program whose child holds a known amount of memory and burns a known amount of CPU,
// run through build/mlrun on both stores and read back with MLflow's Python client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { runMlrun } from '../support/mlrun.ts';
import { repoRoot, venvBin } from '../support/paths.ts';
import { tempProject, runIdOf } from '../support/project.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { storeBackends } from '../support/store-backends.ts';

const SUMMARY_KEYS = ['system/process_cpu_seconds', 'system/process_peak_rss_megabytes'];
/** MLflow's keys (mlflow/system_metrics/metrics/) on a machine without a GPU, and the tree's own. */
const HISTORY_KEYS = [
  'cpu_utilization_percentage',
  'disk_available_megabytes',
  'disk_usage_megabytes',
  'disk_usage_percentage',
  'network_receive_megabytes',
  'network_transmit_megabytes',
  'process_cpu_percentage',
  'process_memory_rss_megabytes',
  'system_memory_usage_megabytes',
  'system_memory_usage_percentage',
];

let allocBurn: string;
before(() => {
  allocBurn = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-alloc-burn-')), 'alloc-burn');
  execFileSync('cc', ['-O1', '-o', allocBurn, path.join(repoRoot, 'test/fixtures/system/alloc-burn.c')]);
});

function systemKeys(run: PyRun): string[] {
  return Object.keys(run.system.history).sort();
}

async function stageRun(uri: string, argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const result = await runMlrun(['--no-output-log', '--', ...argv], { cwd: tempProject('system', files), env: { MLFLOW_TRACKING_URI: uri, ...env } });
  assert.equal(result.code, 0, result.stderr);
  const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
  return { run: run!, stderr: result.stderr };
}

for (const backend of storeBackends) {
  describe(backend.name, () => {
    test('a child holding 300 MB while it burns 3 s of CPU: its peak RSS and CPU seconds in the summary', async () => {
      const { uri } = await backend.open();
      const { run, stderr } = await stageRun(uri, [allocBurn]);
      assert.deepEqual(systemKeys(run), SUMMARY_KEYS);
      for (const key of SUMMARY_KEYS) assert.deepEqual(run.system.history[key]!.map((point) => point.step), [0], key);
      const peak = Number(run.system.metrics['system/process_peak_rss_megabytes']);
      assert.ok(Math.abs(peak - 300) <= 30, `peak RSS ${peak} MB, not within 10% of 300 MB`);
      const truth = Number(/tree_cpu_seconds=([\d.]+)/.exec(stderr)?.[1]);
      const cpu = Number(run.system.metrics['system/process_cpu_seconds']);
      assert.ok(truth >= 3, stderr);
      assert.ok(Math.abs(cpu - truth) <= 0.2 * truth, `CPU ${cpu} s, not within 20% of getrusage's ${truth} s`);
    });

    test('a 50 ms stage still gets its summary, and no histories unless asked', async () => {
      const { uri } = await backend.open();
      const { run } = await stageRun(uri, ['sh', '-c', 'echo run=$MLFLOW_RUN_ID; sleep 0.05']);
      assert.deepEqual(systemKeys(run), SUMMARY_KEYS);
      const peak = Number(run.system.metrics['system/process_peak_rss_megabytes']);
      assert.ok(peak > 0 && peak < 50, `peak RSS ${peak} MB`);
      const cpu = Number(run.system.metrics['system/process_cpu_seconds']);
      assert.ok(cpu >= 0 && cpu < 0.5, `CPU ${cpu} s`);
    });

    test('histories every 0.5 s (MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING): at least 5 points per key, steps from 0', async () => {
      const { uri } = await backend.open();
      const env = { MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'true', MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '0.5' };
      const { run } = await stageRun(uri, ['sh', '-c', 'echo run=$MLFLOW_RUN_ID; sleep 3.5'], env);
      assert.deepEqual(systemKeys(run), [...HISTORY_KEYS.map((key) => `system/${key}`), ...SUMMARY_KEYS].sort());
      for (const key of HISTORY_KEYS) {
        const steps = run.system.history[`system/${key}`]!.map((point) => point.step).sort((a, b) => a - b);
        assert.ok(steps.length >= 5, `${key}: ${steps.length} points`);
        assert.deepEqual(steps, steps.map((_, index) => index), key);
      }
      const rss = run.system.history['system/process_memory_rss_megabytes']!.map((point) => Number(point.value));
      assert.ok(rss.every((value) => value > 0 && value < 50), `the tree's RSS: ${rss.join(', ')}`);
    });
  });
}

describe('histories as configured', () => {
  test('--system-metrics with a node id and 2 samples per point: keys under the node, one point a second', async () => {
    const { uri } = await storeBackends[1]!.open();
    const env = { MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '0.25', MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING: '2', MLFLOW_SYSTEM_METRICS_NODE_ID: 'node_0' };
    const result = await runMlrun(['--system-metrics', '--', 'sh', '-c', 'echo run=$MLFLOW_RUN_ID; sleep 2.2'], { cwd: tempProject('system', {}), env: { MLFLOW_TRACKING_URI: uri, ...env } });
    assert.equal(result.code, 0, result.stderr);
    const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
    assert.deepEqual(systemKeys(run!), [...HISTORY_KEYS.map((key) => `system/node_0/${key}`), ...SUMMARY_KEYS].sort());
    const points = run!.system.history['system/node_0/disk_usage_percentage']!.length;
    assert.ok(points >= 4 && points <= 6, `${points} points in 2.2 s`);
  });

  test('a Python stage using MLflow while mlrun samples: MLflow\'s own monitor stays off, each step logged once', async () => {
    const { uri } = await storeBackends[1]!.open();
    const script = 'import mlflow, os, time\nprint("run=" + os.environ["MLFLOW_RUN_ID"], flush=True)\nwith mlflow.start_run():\n    time.sleep(2)\n';
    const env = { MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'true', MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '0.5' };
    const { run } = await stageRun(uri, [path.join(venvBin, 'python'), '-c', script], env);
    assert.deepEqual(systemKeys(run), [...HISTORY_KEYS.map((key) => `system/${key}`), ...SUMMARY_KEYS].sort());
    const steps = run.system.history['system/cpu_utilization_percentage']!.map((point) => point.step).sort((a, b) => a - b);
    assert.ok(steps.length >= 4, `${steps.length} points`);
    assert.deepEqual(steps, steps.map((_, index) => index));
  });

  test('system_metrics: false in mlrun.yaml wins over MLflow\'s switch in the environment', async () => {
    const { uri } = await storeBackends[1]!.open();
    const { run } = await stageRun(uri, ['sh', '-c', 'echo run=$MLFLOW_RUN_ID; sleep 0.6'], { MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: '1', MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '0.2' }, { 'mlrun.yaml': 'system_metrics: false\n' });
    assert.deepEqual(systemKeys(run), SUMMARY_KEYS);
  });

  test('a switch MLflow would refuse, or an interval that is not positive, is a usage error before the command starts', async () => {
    const { uri } = await storeBackends[1]!.open();
    const cases: [Record<string, string>, string][] = [
      [{ MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'yes' }, "mlrun: MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING must be true, false, 1 or 0, not 'yes'"],
      [{ MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING: 'true', MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '0' }, "mlrun: MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL must be a positive number, not '0'"],
    ];
    for (const [env, message] of cases) {
      const result = await runMlrun(['--', 'sh', '-c', 'echo started'], { cwd: tempProject('system', {}), env: { MLFLOW_TRACKING_URI: uri, ...env } });
      assert.equal(result.code, 2);
      assert.equal(result.stdout.toString(), '');
      assert.deepEqual(result.messages, [message]);
    }
  });
});
