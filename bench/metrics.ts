// 4. Metrics: N metric lines (`value=<i>`, and a mix of formats) through build/mlrun, against the
// command alone and the MLflow Python client logging the same points with log_batch (1000 per
// call). Passthrough throughput is the output's bytes over the time from its first to its last
// byte at the reader (mlrun's start-up is benchmark 1, not passthrough). The reader is
// bench/read_output.py, which starts the contender on a real pipe and is never the slowest part;
// `cat` in the same place shows what any process between the command and its reader costs.
// Delivery is the time until mlrun exits (every point sent), checked by counting the run's rows in
// the store's SQLite database. 5. Scaling: distinct keys.
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createExperiment, createRun } from './server.ts';
import { pct, ratio, table, type BenchContext, type Section, type Target } from './report-types.ts';
import {
  benchDir, cleanEnv, dvcProject, fmtMs, fmtStat, interleave, mlrunBinary, pairedRatio, python, remove, run, runIdFromVerbose, statOf, tempDir,
  type Contender, type Sample, type Stat,
} from './util.ts';

const reader = path.join(benchDir, 'read_output.py');

/** What bench/read_output.py reports of the command it ran. */
interface ReaderReport {
  first_ms: number;
  last_ms: number;
  exit_ms: number;
  bytes: number;
  code: number;
  max_rss_kb: number;
}

/** Runs argv under the reader: a sample of its output's timing, and its stderr. */
async function throughReader(argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ sample: Sample; stderr: string }> {
  const result = await run(python, [reader, ...argv], { ...options, keepStdout: true });
  const report = JSON.parse(result.stdout.trim().split('\n').pop()!) as ReaderReport;
  if (report.code !== 0) throw new Error(`${argv.join(' ')} exited with ${report.code}:\n${result.stderr.slice(-2000)}`);
  const sample = { ms: report.exit_ms, lastByte: report.last_ms, span: report.last_ms - report.first_ms, bytes: report.bytes, rss: report.max_rss_kb / 1024 };
  return { sample, stderr: result.stderr };
}

export interface MetricSizes {
  /** lines through mlrun with the embedded store (passthrough, delivery) */
  localLines: number;
  /** points to the server from mlrun and from the Python client, compared for total time (the passthrough to the server is measured with localLines) */
  serverLines: number;
  /** lines for the distinct-keys scaling (embedded store) */
  keyLines: number;
  /** repetitions of the passthrough and delivery runs (the most run-to-run noise: medians of several) */
  reps: number;
  keyReps: number;
  serverReps: number;
}

type Style = 'value' | 'mixed' | { keys: number };

/** An awk program printing `lines` metric lines, one point each. */
function generator(style: Style, lines: number): string[] {
  let body: string;
  if (style === 'value') body = 'printf "value=%d\\n", i';
  else if (style === 'mixed') {
    // name=value, name: value, a JSON line, a Python dict line, a bare step word with a pair.
    body = 'm = i % 5; if (m == 0) printf "loss=%d\\n", i; else if (m == 1) printf "acc: %d.5\\n", i; '
      + 'else if (m == 2) printf "{\\"lr\\": %d}\\n", i; else if (m == 3) printf "{\'f1\': %d.25}\\n", i; '
      + 'else printf "epoch %d | val_loss=%d\\n", i, i';
  } else body = `printf "k%d=%d\\n", i % ${style.keys}, i`;
  return ['awk', `BEGIN { for (i = 0; i < ${lines}; i++) { ${body} } }`];
}

function countPoints(dbPath: string, runId: string): number {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    // The command's points only: every stage also gets what it cost (system/… summary metrics).
    const row = db.prepare("SELECT COUNT(*) AS n FROM metrics WHERE run_uuid = ? AND \"key\" NOT LIKE 'system/%'").get(runId) as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

/** The points one mlrun run was given, and those its store holds once it exited. */
interface Delivery {
  label: string;
  expected: number;
  counted: number;
}

/** Alike runs on one line: "value, embedded: 1000000/1000000 in each of 11 runs". */
function describeDeliveries(delivered: Delivery[]): string {
  const groups = new Map<string, Delivery[]>();
  for (const d of delivered) {
    const key = `${d.label}/${d.expected}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  return [...groups.values()]
    .map((runs) => {
      const { label, expected } = runs[0]!;
      if (runs.every((d) => d.counted === expected)) return `${label}: ${expected}/${expected} in each of ${runs.length} runs`;
      return `${label}: ${runs.map((d) => d.counted).join(', ')} of ${expected}`;
    })
    .join('; ');
}

export async function metricsBenchmark(ctx: BenchContext, sizes: MetricSizes): Promise<Section> {
  ctx.log(`4. metrics (${sizes.localLines} lines, ${sizes.serverLines} points against the Python client)`);
  const root = tempDir('metrics');
  try {
    await dvcProject(root);
    const localDb = path.join(root, 'mlflow.db');
    const experiment = await createExperiment(ctx.serverUri, 'bench-metrics');
    const serverEnv = cleanEnv({ MLFLOW_TRACKING_URI: ctx.serverUri, MLFLOW_EXPERIMENT_ID: experiment });
    const delivered: Delivery[] = [];

    const alone = (style: Style, lines: number) => async (): Promise<Sample> => (await throughReader(generator(style, lines), { cwd: root, env: cleanEnv() })).sample;
    const toDevNull = (style: Style, lines: number) => async (): Promise<Sample> => {
      const [file, ...args] = generator(style, lines);
      return { ms: (await run(file!, args, { cwd: root, stdout: 'null' })).ms };
    };
    // The cheapest process there can be between a command and its reader.
    const throughCat = (style: Style, lines: number) => async (): Promise<Sample> =>
      (await throughReader(['sh', '-c', '"$@" | cat', 'sh', ...generator(style, lines)], { cwd: root, env: cleanEnv() })).sample;
    const viaMlrun = (label: string, style: Style, lines: number, store: 'server' | 'embedded') => async (rep: number): Promise<Sample> => {
      const { sample, stderr } = await throughReader([mlrunBinary, '-v', '--', ...generator(style, lines)], { cwd: root, env: store === 'server' ? serverEnv : cleanEnv() });
      const counted = countPoints(store === 'server' ? ctx.serverDbPath : localDb, runIdFromVerbose(stderr));
      if (rep >= 0) delivered.push({ label, expected: lines, counted });
      // The store's writes (hundreds of MB for a million points) would otherwise be flushed to disk
      // while the next contenders are timed, slowing them and not mlrun.
      await run('sync', []);
      return sample;
    };
    const viaPython = (lines: number) => async (): Promise<Sample> => {
      const created = await createRun(ctx.serverUri, experiment, 'log-batch');
      const result = await run(python, [path.join(benchDir, 'log_batch.py'), created.runId, String(lines), '1'], { cwd: root, env: serverEnv, rss: true });
      const counted = countPoints(ctx.serverDbPath, created.runId);
      if (counted !== lines) throw new Error(`the Python client delivered ${counted} of ${lines} points`);
      return { ms: result.ms, lastByte: NaN, rss: result.rssMb! };
    };

    const n = sizes.localLines;
    const local: Contender[] = (['value', 'mixed'] as const).flatMap((style) => [
      { name: `${style}: command alone → reader`, reps: sizes.reps, warmup: 1, measure: alone(style, n) },
      { name: `${style}: command alone → /dev/null`, reps: sizes.reps, measure: toDevNull(style, n) },
      { name: `${style}: command → cat → reader`, reps: sizes.reps, measure: throughCat(style, n) },
      { name: `${style}: mlrun (embedded)`, reps: sizes.reps, measure: viaMlrun(`${style}, embedded`, style, n, 'embedded') },
    ]);
    ctx.log('4. metrics, embedded store');
    const localSamples = await interleave(local, ctx.log);

    // Passthrough to the server with the full 1,000,000 lines, once (the server takes ~5,000 points/s, so
    // this run lasts minutes); the race against the Python client with serverLines points.
    const m = sizes.serverLines;
    const passName = `value: mlrun (server, ${n} lines)`;
    const totalName = m === n ? passName : `value: mlrun (server, ${m} lines)`;
    const pythonName = `Python client log_batch (server, ${m} points)`;
    const remote: Contender[] = [
      { name: 'value: command alone → reader', reps: sizes.reps, warmup: 1, measure: alone('value', n) },
      { name: passName, reps: sizes.serverReps, measure: viaMlrun('value, server', 'value', n, 'server') },
      ...(totalName === passName ? [] : [{ name: totalName, reps: sizes.serverReps, measure: viaMlrun('value, server', 'value', m, 'server') }]),
      { name: pythonName, reps: sizes.serverReps, measure: viaPython(m) },
    ];
    const remoteLines = new Map([['value: command alone → reader', n], [passName, n], [totalName, m], [pythonName, m]]);
    ctx.log('4. metrics, server');
    const remoteSamples = await interleave(remote, ctx.log);

    const keyCounts = [1, 100, 10_000];
    const keyContenders: Contender[] = keyCounts.map((keys) => ({
      name: `${keys} keys`,
      reps: sizes.keyReps,
      measure: viaMlrun(`${keys} keys, embedded`, { keys }, sizes.keyLines, 'embedded'),
    }));
    ctx.log('5. metrics against distinct keys');
    const keySamples = await interleave(keyContenders, ctx.log);

    const rows = (samples: Map<string, Sample[]>, contenders: Contender[], linesOf: (name: string) => number) =>
      contenders.map((c) => {
        const lines = linesOf(c.name);
        const total = statOf(samples, c.name);
        const last = statOf(samples, c.name, 'lastByte');
        const span = statOf(samples, c.name, 'span');
        const rss = statOf(samples, c.name, 'rss');
        return [
          c.name,
          last.n ? fmtStat(last) : '—',
          span.n ? fmtStat(span) : '—',
          fmtStat(total),
          `${((lines / total.median) * 1000).toFixed(0)} points/s`,
          rss.n ? `${rss.max.toFixed(0)} MB` : '—',
        ];
      });
    const med = (samples: Map<string, Sample[]>, name: string, field = 'ms') => statOf(samples, name, field).median;
    // Throughput ratio: the same bytes over each one's first-to-last-byte time, round by round.
    const spanOf = (samples: Map<string, Sample[]>, name: string) => med(samples, name, 'span');
    const passOf = (samples: Map<string, Sample[]>, style: string, name: string) => pairedRatio(samples, `${style}: command alone → reader`, name, 'span');
    const passLocal = (style: string) => passOf(localSamples, style, `${style}: mlrun (embedded)`);
    const passServer = passOf(remoteSamples, 'value', passName);
    // `cat` runs only in the embedded-store section: the server row shows that same floor beside it.
    const passMeasured = (pass: Stat, samples: Map<string, Sample[]>, style: string, name: string) =>
      `${pct(pass.median)} (round by round: median of ${pass.n}, ${pct(pass.min)}–${pct(pass.max)}; first to last byte ` +
      `${fmtMs(spanOf(samples, name))} vs ${fmtMs(spanOf(samples, `${style}: command alone → reader`))}; ` +
      `through \`cat\` ${pct(passOf(localSamples, style, `${style}: command → cat → reader`).median)})`;
    const allDelivered = delivered.every((d) => d.counted === d.expected);
    const mlrunRss = Math.max(
      ...['value: mlrun (embedded)', 'mixed: mlrun (embedded)'].map((name) => statOf(localSamples, name, 'rss').max),
      ...[passName, totalName].map((name) => statOf(remoteSamples, name, 'rss').max),
      ...keyCounts.map((keys) => statOf(keySamples, `${keys} keys`, 'rss').max),
    );
    const totalVsPython = med(remoteSamples, totalName) / med(remoteSamples, pythonName);

    const keyRows = keyCounts.map((keys) => {
      const s = statOf(keySamples, `${keys} keys`);
      return [String(keys), fmtStat(s), `${((sizes.keyLines / s.median) * 1000).toFixed(0)} points/s`, `${statOf(keySamples, `${keys} keys`, 'rss').max.toFixed(0)} MB`];
    });
    const keyGrowth = med(keySamples, '10000 keys') / med(keySamples, '1 keys');

    const targets: Target[] = [
      { benchmark: '4. Metrics', target: 'passthrough ≥ 90% of the command alone (value=, embedded)', measured: passMeasured(passLocal('value'), localSamples, 'value', 'value: mlrun (embedded)'), met: passLocal('value').median >= 0.9 },
      { benchmark: '4. Metrics', target: 'passthrough ≥ 90% of the command alone (mixed, embedded)', measured: passMeasured(passLocal('mixed'), localSamples, 'mixed', 'mixed: mlrun (embedded)'), met: passLocal('mixed').median >= 0.9 },
      { benchmark: '4. Metrics', target: `passthrough ≥ 90% of the command alone (value=, server, ${n} lines)`, measured: passMeasured(passServer, remoteSamples, 'value', passName), met: passServer.median >= 0.9 },
      { benchmark: '4. Metrics', target: 'every point delivered (counted in the store)', measured: describeDeliveries(delivered), met: allDelivered },
      { benchmark: '4. Metrics', target: `total time ≤ the Python client's (${m} points, server)`, measured: `${ratio(totalVsPython)} of the Python client's time (${fmtMs(med(remoteSamples, totalName))} vs ${fmtMs(med(remoteSamples, pythonName))})`, met: totalVsPython <= 1 },
      { benchmark: '4. Metrics', target: 'mlrun peak RSS ≤ 150 MB', measured: `${mlrunRss.toFixed(0)} MB (max over every mlrun run)`, met: mlrunRss <= 150 },
    ];
    const header = ['contender', 'last byte at the reader', 'first to last byte', 'total (exit)', 'points/s (total)', 'peak RSS'];
    return {
      title: '4. Metrics',
      body: [
        'The command is `awk` printing one metric line per iteration: `value=<i>`, or a mix of five formats (`loss=<i>`, `acc: <i>.5`,',
        "`{\"lr\": <i>}`, `{'f1': <i>.25}`, `epoch <i> | val_loss=<i>`), one point per line. mlrun runs it with default options",
        "(`mlrun -v -- awk …`: metric patterns on stdout, the output log kept as an artifact). Each contender's stdout is a pipe read by",
        '`bench/read_output.py`, which starts the contender itself and reads into one preallocated buffer, so that the reader is not',
        'the slowest part (a Node reader, one `data` event per 4 KiB the command writes, was: it made the command alone take ~200 ms',
        'for what it writes to /dev/null in ~110 ms, and hid the cost of what sits between). The reader notes when the first and the',
        "last byte arrive (passthrough throughput: the same bytes over first-to-last-byte time; the time before the first byte is mlrun's",
        'start-up, benchmark 1). The passthrough ratio is taken round by round (the command alone, then mlrun, a second apart) and its',
        "median reported: the host's slow and fast spells outlast a round, though single rounds still scatter widely (the range is",
        'printed with the median). The reader also notes when the contender exits (for mlrun:',
        "every point delivered; the count is then checked with `SELECT COUNT(*) FROM metrics WHERE run_uuid = ? AND key NOT LIKE 'system/%'` on the store's SQLite (the stage's own system/ summary left out)",
        'file, and `sync` flushes the store before the next contender). `command → cat → reader` puts `cat` where mlrun sits: the least',
        'any process passing the output on can cost. `command alone → /dev/null` is the command with nothing reading',
        "its output (time from spawn to exit). The Python client is `bench/log_batch.py`:",
        '`MlflowClient().log_batch(run_id, metrics=[1000 Metric objects])` in a loop, import time included.',
        '',
        `**Embedded store, ${n} lines**`,
        '',
        ...table(header, rows(localSamples, local, () => n)),
        '',
        `**Local server**: passthrough and delivery of ${n} lines; ${m} points from mlrun and from the Python client for the race.`,
        '',
        ...table(header, rows(remoteSamples, remote, (name) => remoteLines.get(name)!)),
        '',
        `**Scaling with distinct keys** (5.): ${sizes.keyLines} lines \`k<i mod K>=<i>\` through mlrun, embedded store.`,
        '',
        ...table(['distinct keys', 'total', 'throughput', 'peak RSS'], keyRows),
        '',
        `- 10,000 keys take ${ratio(keyGrowth)} the time of 1 key for the same number of points (${keyGrowth > 1.5 ? '**grows with the key count**' : 'flat'}).`,
      ],
      targets,
    };
  } finally {
    remove(root);
  }
}
