// Metric lines in a command's output become exactly the right MLflow metric points, live, in any
// language, on a real server and on the embedded store, and the output itself is untouched.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { startMlflowServer } from '../support/mlflow-server.ts';
import { cleanEnv, runMlrun } from '../support/mlrun.ts';
import { mlrunBinary, repoRoot, venvBin } from '../support/paths.ts';
import { inspectMlflow, type PyRun } from '../support/python.ts';
import { sharedServerUri } from '../support/shared-server.ts';
import { tempProject, runIdOf } from '../support/project.ts';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'metrics');
const PRINT_ID = 'echo "run=$MLFLOW_RUN_ID" >&2';

/** key → [[step, value], ...] sorted by step, from what the Python client reads. */
function historyOf(run: PyRun): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = {};
  for (const [key, points] of Object.entries(run.history)) {
    out[key] = points.map((p) => [p.step, Number(p.value)] as [number, number]).sort((a, b) => a[0] - b[0]);
  }
  return out;
}

const sha = (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex');

for (const backend of ['server', 'embedded'] as const) {
  describe(`on the ${backend === 'server' ? 'real mlflow server' : 'embedded store'}`, () => {
    const cwd = tempProject('metrics');
    let uri = '';
    let env: Record<string, string> = {};
    before(async () => {
      uri = backend === 'server' ? await sharedServerUri() : `sqlite:///${path.join(cwd, 'mlflow.db')}`;
      env = backend === 'server' ? { MLFLOW_TRACKING_URI: uri } : {};
    });

    test('100,000 mixed-format lines with 20 keys: exactly the expected points, stdout byte-identical', async () => {
      const expectedFile = path.join(cwd, 'expected.json');
      const script = `${PRINT_ID}; exec node ${path.join(fixtures, 'emit.mjs')} 100000 ${expectedFile}`;
      const result = await runMlrun(['--', 'sh', '-c', script], { cwd, env });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.messages, []);
      const direct = execFileSync('node', [path.join(fixtures, 'emit.mjs'), '100000', path.join(cwd, 'direct.json')], { maxBuffer: 1 << 30 });
      assert.equal(result.stdout.length, direct.length);
      assert.equal(sha(result.stdout), sha(direct));

      const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8')) as Record<string, [number, number][]>;
      const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
      const actual = historyOf(run!);
      assert.equal(Object.keys(actual).length, 20);
      for (const key of Object.keys(expected)) {
        assert.equal(actual[key]?.length, expected[key]!.length, `points of ${key}`);
        assert.deepEqual(actual[key], [...expected[key]!].sort((a, b) => a[0] - b[0]), `points of ${key}`);
      }
      const total = Object.values(actual).reduce((sum, points) => sum + points.length, 0);
      assert.equal(total, 220_000);
    });

    test('Python, shell, Node and C print metrics their own way, and all are captured', async () => {
      const binary = path.join(cwd, 'natural');
      execFileSync('cc', ['-O2', '-o', binary, path.join(fixtures, 'natural.c')]);
      const programs: [string, string[], Record<string, [number, number][]>][] = [
        [
          'python',
          [path.join(venvBin, 'python'), '-c', "for e in range(3):\n    print({'loss': 0.5 / (e + 1), 'epoch': e})\nprint(f'accuracy: {0.9:.4f}')"],
          { loss: [[0, 0.5], [1, 0.25], [2, 0.5 / 3]], accuracy: [[0, 0.9]] },
        ],
        ['shell', ['sh', '-c', 'for i in 1 2; do echo "iter $i: rmse=0.$i"; done'], { rmse: [[1, 0.1], [2, 0.2]] }],
        [
          'node',
          ['node', '-e', 'for (let step = 0; step < 2; step++) console.log(JSON.stringify({ step, reward: step * 1.5 }))'],
          { reward: [[0, 0], [1, 1.5]] },
        ],
        [
          'c',
          [binary],
          { loss: [[1, 1], [2, 0.5], [3, 0.3333]], acc: [[1, 0.6], [2, 0.7], [3, 0.8]], rmse: [[0, 0.00125]] },
        ],
      ];
      const ids: [string, string, Record<string, [number, number][]>][] = [];
      for (const [language, argv, expected] of programs) {
        const result = await runMlrun(['--name', language, '--', 'sh', '-c', `${PRINT_ID}; exec "$@"`, 'sh', ...argv], { cwd, env });
        assert.equal(result.code, 0, `${language}: ${result.stderr}`);
        ids.push([language, runIdOf(result), expected]);
      }
      const runs = inspectMlflow(uri, { runIds: ids.map(([, id]) => id), withHistory: true }).runs;
      ids.forEach(([language, , expected], i) => {
        assert.deepEqual(historyOf(runs[i]!), expected, language);
      });
    });

    test('tqdm-style \\r redraws and a Keras epoch log: the final states, no duplicates', async () => {
      const script = `${PRINT_ID}; exec node ${path.join(fixtures, 'progress.mjs')}`;
      const result = await runMlrun(['--', 'sh', '-c', script], { cwd, env });
      assert.equal(result.code, 0, result.stderr);
      const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
      assert.deepEqual(historyOf(run!), {
        loss: [[0, 0.0196], [1, 0.5], [2, 0.25]],
        accuracy: [[0, 0.7], [1, 0.9]],
      });
    });

    test("a DVC stage's metrics file ends the curves its output streamed: no second curve at step 0", async () => {
      fs.writeFileSync(path.join(cwd, 'dvc.yaml'), 'stages:\n  fit:\n    cmd: mlrun -- sh fit.sh\n    metrics: [fit.json]\n');
      // A pause after each line: the stage outlives 200 ms, so its lines go through the metrics thread.
      const epochs = 'for e in 1 2 3; do echo "epoch $e/3 loss=0.$((4 - e)) acc=0.$e"; sleep 0.2; done';
      // loss as printed last, acc more precise than printed, auc only in the file, f1 printed without a step.
      const file = `echo '{"loss": 0.1, "acc": 0.35, "auc": 0.9, "f1": 0.8}' > fit.json`;
      fs.writeFileSync(path.join(cwd, 'fit.sh'), `${PRINT_ID}\n${epochs}\necho f1=0.8\n${file}\n`);
      const result = await runMlrun(['--', 'sh', 'fit.sh'], { cwd, env: { ...env, DVC_ROOT: cwd, DVC_STAGE: 'fit' } });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.messages, []);
      const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
      const inOrder = Object.fromEntries(
        Object.entries(run!.history).map(([key, points]) => [
          key,
          [...points].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp).map((p) => [p.step, Number(p.value)]),
        ]),
      );
      assert.deepEqual(inOrder, {
        loss: [[1, 0.3], [2, 0.2], [3, 0.1]],
        acc: [[1, 0.1], [2, 0.2], [3, 0.3], [3, 0.35]],
        auc: [[0, 0.9]],
        f1: [[0, 0.8]],
      });
      assert.deepEqual(run!.metrics, { loss: 0.1, acc: 0.35, auc: 0.9, f1: 0.8 });
    });

    // Output waits unmatched while it streams (src/metrics/pacing.ts): after a pause, or a
    // second at most, its points go on their way while the command still runs.
    for (const mode of ['pause', 'steady'] as const) {
      test(`points reach the run while the command runs (${mode === 'pause' ? 'a line, then silence' : 'a line every 10 ms'})`, async () => {
        const script = `${PRINT_ID}; exec node ${path.join(fixtures, 'reads-back.mjs')} ${mode}`;
        const result = await runMlrun(['--', 'sh', '-c', script], { cwd, env });
        assert.equal(result.code, 0, `the command did not see its first point in its run within 10 s: ${result.stderr}`);
        const lines = result.stdout.toString().split('\n');
        const printed = Number(/^seen (\d+)$/.exec(lines.at(-2)!)?.[1]);
        assert.equal(lines.length, printed + 2);
        if (mode === 'pause') assert.equal(printed, 1);
        const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
        assert.deepEqual(historyOf(run!).loss, Array.from({ length: printed }, (_, i) => [i, i]));
      });
    }
  });
}

describe('a server that holds every metric delivery until the command has exited', () => {
  test('200,000 metric lines: the command is never blocked, then all 200,000 points arrive in order', async (t) => {
    // A server of its own: the shared one has a single worker, and another test file's large
    // deliveries once kept it from creating this run within mlrun's start budget (4 s), which
    // sent the run to the offline record.
    const server = await startMlflowServer();
    t.after(() => server.stop());
    const upstream = new URL(server.uri);
    let holding = true;
    const held: (() => void)[] = [];
    const proxy = http.createServer((request, response) => {
      const forward = () => {
        const outgoing = http.request(
          { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
          (answer) => {
            response.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(response);
          },
        );
        request.pipe(outgoing);
      };
      if (holding && request.url!.includes('/runs/log-batch')) held.push(forward);
      else forward();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.after(() => proxy.close());
    const uri = `http://127.0.0.1:${(proxy.address() as import('node:net').AddressInfo).port}`;

    const cwd = tempProject('metrics');
    let commandDone = 0;
    const script = `${PRINT_ID}; node -e 'let s="";for(let i=0;i<200000;i++){s+="value="+i+"\\n";if(s.length>65536){process.stdout.write(s);s=""}}process.stdout.write(s+"done\\n")'`;
    const started = Date.now();
    const result = await runMlrun(['--', 'sh', '-c', script], {
      cwd,
      env: { MLFLOW_TRACKING_URI: uri },
      onStdout: (chunk) => {
        if (!commandDone && chunk.toString().endsWith('done\n')) {
          commandDone = Date.now();
          // The command has printed everything: now let the server answer.
          setTimeout(() => {
            holding = false;
            held.splice(0).forEach((release) => release());
          }, 1000);
        }
      },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.messages, []);
    assert.ok(commandDone > 0, 'the command finished printing while deliveries were held');
    assert.ok(commandDone - started < 20_000, `the command took ${commandDone - started} ms to print`);
    // Read from the server itself: the proxy lives in this process, which inspectMlflow blocks.
    const [run] = inspectMlflow(upstream.origin, { runIds: [runIdOf(result)], withHistory: true }).runs;
    const points = run!.history.value!;
    assert.equal(points.length, 200_000);
    points.forEach((p, i) => {
      assert.equal(p.step, i);
      assert.equal(p.value, i);
    });
    // In order: the time each point was read never goes backwards.
    for (let i = 1; i < points.length; i++) assert.ok(points[i]!.timestamp >= points[i - 1]!.timestamp);
  });
});

describe("once the reader of mlrun's output has gone", () => {
  test('a metric line the command prints is still recorded', () => {
    const cwd = tempProject('metrics');
    const uri = `sqlite:///${path.join(cwd, 'mlflow.db')}`;
    // `true` is gone before the command prints: mlrun cannot pass the line on (EPIPE).
    const script = '"$@" | true; echo "${PIPESTATUS[0]}"';
    const command = ['sh', '-c', `${PRINT_ID}; sleep 0.5; echo loss=5`];
    const result = spawnSync('bash', ['-c', script, 'bash', mlrunBinary, '--', ...command], { cwd, encoding: 'utf8', env: cleanEnv() });
    assert.equal(result.stdout, '0\n', result.stderr);
    const [run] = inspectMlflow(uri, { runIds: [runIdOf(result)], withHistory: true }).runs;
    assert.deepEqual(historyOf(run!), { loss: [[0, 5]] });
  });
});

describe('bad metric options exit 2 before the command runs', () => {
  const cwd = tempProject('metrics');
  const cases: [string, string[], RegExp][] = [
    ['an invalid --metric-pattern', ['--metric-pattern', '(?<key>\\w+'], /^mlrun: invalid --metric-pattern '\(\?<key>\\w\+': /],
    ['a --metric-pattern without the value group', ['--metric-pattern', '(?<key>\\w+)'], /^mlrun: .*--metric-pattern.*value/],
    ['an invalid --metric', ['--metric', 'loss=([0-9'], /^mlrun: invalid --metric '\(\[0-9': Unterminated character class$/],
    ['--metrics with an unknown mode', ['--metrics', 'some'], /^mlrun: metrics in the command line must be one of on, none, not 'some'$/],
  ];
  for (const [label, args, message] of cases) {
    test(label, async () => {
      const result = await runMlrun([...args, '--', 'touch', 'ran'], { cwd });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.messages.length, 1, result.stderr);
      assert.match(result.messages[0]!, message);
      assert.ok(!fs.existsSync(path.join(cwd, 'ran')));
    });
  }

  test('a custom pattern and a NAME=REGEX metric, without the defaults', async () => {
    const db = `sqlite:///${path.join(cwd, 'mlflow.db')}`;
    const result = await runMlrun(
      ['--no-default-patterns', '--metric-pattern', '^(?<key>\\w+) is (?<value>[\\d.]+) at (?<step>\\d+)$', '--metric', 'speed=(\\d+) it/s', '--', 'sh', '-c', `${PRINT_ID}; echo "loss is 0.5 at 3"; echo "acc=0.9"; echo "42 it/s"`],
      { cwd },
    );
    assert.equal(result.code, 0, result.stderr);
    const [run] = inspectMlflow(db, { runIds: [runIdOf(result)], withHistory: true }).runs;
    assert.deepEqual(historyOf(run!), { loss: [[3, 0.5]], speed: [[0, 42]] });
  });
});
