// 6. What measuring a stage costs it: a CPU-bound command of fixed work, alone and under mlrun
// with the summary every stage gets, then with MLflow's system-metric histories sampled every
// second and every 0.1 s, while another process keeps the machine's other core busy.
import { spawn } from 'node:child_process';
import { pct, table, type BenchContext, type Section } from './report-types.ts';
import { cleanEnv, dvcProject, fmtMs, fmtStat, interleave, mlrunBinary, nodeBinary, pairedRatio, remove, run, statOf, tempDir, type Contender } from './util.ts';

/** A fixed amount of work (about a second of one core here): its time is what sampling could slow. */
const WORK = ['awk', 'BEGIN { for (i = 0; i < 3e7; i++) s += i; print s }'];

interface Variant {
  name: string;
  args: string[];
  env: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: 'command alone', args: [], env: {} },
  { name: 'mlrun, summary only (every stage)', args: [mlrunBinary, '--no-output-log', '--'], env: {} },
  { name: 'mlrun, histories every 1 s', args: [mlrunBinary, '--no-output-log', '--system-metrics', '--'], env: { MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '1' } },
  { name: 'mlrun, histories every 0.1 s', args: [mlrunBinary, '--no-output-log', '--system-metrics', '--'], env: { MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL: '0.1' } },
];

export async function samplerBenchmark(ctx: BenchContext): Promise<Section> {
  const dir = tempDir('sampler');
  await dvcProject(dir);
  // The other core: a busy loop for as long as the rounds last.
  const load = spawn(nodeBinary, ['-e', 'for (;;);'], { stdio: 'ignore' });
  try {
    const reps = ctx.quick ? 3 : 11;
    const contenders: Contender[] = VARIANTS.map((variant) => ({
      name: variant.name,
      reps,
      warmup: 1,
      measure: async () => {
        const [file, ...args] = [...variant.args, ...WORK] as [string, ...string[]];
        const result = await run(file, args, { cwd: dir, env: cleanEnv(variant.env), rss: true });
        return { ms: result.ms, cpu: result.cpuMs! };
      },
    }));
    ctx.log('6. the cost of system metrics, the other core busy');
    const samples = await interleave(contenders, ctx.log);
    const alone = statOf(samples, 'command alone');
    const aloneCpu = statOf(samples, 'command alone', 'cpu').median;
    const rows = VARIANTS.map((variant) => {
      const wall = statOf(samples, variant.name);
      const cpu = statOf(samples, variant.name, 'cpu').median;
      return [variant.name, fmtStat(wall), fmtMs(wall.median - alone.median), fmtMs(cpu - aloneCpu)];
    });
    // Round by round (util.ts pairedRatio): this host's slow spells outlast a round.
    const historiesAdded = (name: string) => 1 / pairedRatio(samples, 'mlrun, summary only (every stage)', name).median - 1;
    const added = historiesAdded('mlrun, histories every 1 s');
    return {
      title: '6. The cost of system metrics',
      body: [
        `The command is \`${WORK.join(' ')}\` (fixed work, about a second of one core), run in a DVC project on the`,
        'embedded store, while `node -e "for (;;);"` keeps the other core busy. CPU is user + system time of the whole',
        'tree (`/usr/bin/time`), so "added CPU" is what mlrun itself spent: start-up, the run, and sampling.',
        'The summary (peak RSS, CPU seconds) is sampled for every stage; histories only when asked for.',
        '',
        ...table(['contender', 'median (min–max)', 'added time', 'added CPU'], rows),
        '',
        `Histories add to the stage's time over the summary alone (median of the rounds' own ratios): every 1 s ${pct(added)}, every 0.1 s ${pct(historiesAdded('mlrun, histories every 0.1 s'))}.`,
      ],
      targets: [
        {
          benchmark: '6. System metrics',
          target: 'histories every 1 s add ≤ 1% to a CPU-bound stage (other core busy)',
          measured: `${pct(added)} (round by round; the command alone ${fmtMs(alone.median)})`,
          met: added <= 0.01,
        },
      ],
    };
  } finally {
    load.kill('SIGKILL');
    remove(dir);
  }
}
