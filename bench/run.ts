// `node bench/run.ts [--quick] [--only overhead,profile,pipeline,artifacts,metrics,sampler,hosts]`: starts the
// local mlflow server, runs the benchmarks (each contender measured alternately), stops the
// server whatever happens, and writes BENCHMARKS.md. scripts/bench builds build/mlrun first.
import fs from 'node:fs';
import { artifactsBenchmark, type ArtifactSizes } from './artifacts.ts';
import { hostsBenchmark, type HostSizes } from './hosts.ts';
import { metricsBenchmark, type MetricSizes } from './metrics.ts';
import { overheadBenchmark, overheadProject, removeOverheadProject } from './overhead.ts';
import { pipelineBenchmark } from './pipeline.ts';
import { profileBenchmark } from './profile.ts';
import { samplerBenchmark } from './sampler.ts';
import type { BenchContext, Section } from './report-types.ts';
import { collectVersions, describeMachine, writeReport } from './report.ts';
import { startServer, type BenchServer } from './server.ts';
import { startTeamServer } from './team-server.ts';
import { loadAverage, MB, mlrunBinary } from './util.ts';

/**
 * The target sizes are 2 GB, 20,000 files and 1,000,000 points. The local mlflow server (one
 * worker, SQLite) takes ~10 ms per small PUT and ~0.3 ms per metric point on this 2-core machine,
 * so 20,000 files or 1,000,000 points through it cost 3–6 minutes per contender: the default run
 * sends 2,000 files to the server, and 1,000,000 metric lines from mlrun three times (passthrough
 * and delivery; its passthrough ratio is as noisy as the embedded store's, so one sample decides
 * nothing) but 100,000 points from mlrun and from the Python client for their race (the embedded
 * store gets the full sizes); `--full-size` races with the full target sizes too (beyond 40 minutes).
 */
function artifactSizes(quick: boolean, fullSize: boolean): ArtifactSizes {
  if (quick) return { bigBytes: 200 * MB, serverFiles: 500, localFiles: 2000, reps: 1 };
  return { bigBytes: 2048 * MB, serverFiles: fullSize ? 20_000 : 2000, localFiles: 20_000, reps: fullSize ? 3 : 2 };
}

function metricSizes(quick: boolean, fullSize: boolean): MetricSizes {
  if (quick) return { localLines: 100_000, serverLines: 10_000, keyLines: 20_000, reps: 2, keyReps: 1, serverReps: 1 };
  return { localLines: 1_000_000, serverLines: fullSize ? 1_000_000 : 100_000, keyLines: 200_000, reps: 11, keyReps: 2, serverReps: 3 };
}

/** 200 stages of 10,000 points from four hosts at once; --quick sends 12 of 1,000. */
function hostSizes(quick: boolean): HostSizes {
  return quick ? { hosts: 4, stagesPerHost: 3, pointsPerStage: 1000 } : { hosts: 4, stagesPerHost: 50, pointsPerStage: 10_000 };
}

const ALL = ['overhead', 'profile', 'pipeline', 'artifacts', 'metrics', 'sampler', 'hosts'] as const;

function parseArgs(argv: string[]): { quick: boolean; fullSize: boolean; only: Set<string> } {
  let quick = false;
  let fullSize = false;
  let only = new Set<string>(ALL);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--full-size') fullSize = true;
    else if (arg === '--only') only = new Set(argv[++i]!.split(','));
    else if (arg.startsWith('--only=')) only = new Set(arg.slice(7).split(','));
    else throw new Error(`unknown argument ${arg} (use --quick, --full-size, --only ${ALL.join(',')})`);
  }
  for (const name of only) if (!(ALL as readonly string[]).includes(name)) throw new Error(`unknown benchmark ${name}`);
  return { quick, fullSize, only };
}

async function main(): Promise<void> {
  const { quick, fullSize, only } = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(mlrunBinary)) throw new Error(`${mlrunBinary} is missing: run scripts/bench (it builds first)`);
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const machine = describeMachine(loadAverage());
  const versions = collectVersions();
  log(`bench${quick ? ' --quick' : ''}: load ${machine.loadBefore}; starting mlflow server`);

  let server: BenchServer | undefined;
  const stopServer = async () => {
    const running = server;
    server = undefined;
    await running?.stop().catch(() => undefined);
    if (running) fs.rmSync(running.dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the server`);
      void stopServer().finally(() => process.exit(130));
    });
  }

  const sections: Section[] = [];
  const failures: string[] = [];
  try {
    server = await startServer();
    log(`server ${server.uri} (${server.dir})`);
    const ctx: BenchContext = { quick, serverUri: server.uri, serverDbPath: server.dbPath, serverArtifactsDir: server.artifactsDir, log };
    const attempt = async (name: string, body: () => Promise<Section[]>) => {
      try {
        sections.push(...(await body()));
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`${name} failed: ${message}`);
        failures.push(`${name}: ${message.split('\n')[0]}`);
      }
      log(`${name} done; load ${loadAverage()}`);
    };
    if (only.has('overhead') || only.has('profile')) {
      const project = await overheadProject(ctx);
      try {
        if (only.has('overhead')) await attempt('overhead', async () => [await overheadBenchmark(ctx, project)]);
        if (only.has('profile')) await attempt('profile', async () => [await profileBenchmark(ctx, project)]);
      } finally {
        removeOverheadProject(project);
      }
    }
    if (only.has('pipeline')) await attempt('pipeline', async () => [await pipelineBenchmark(ctx)]);
    if (only.has('artifacts')) await attempt('artifacts', async () => [await artifactsBenchmark(ctx, artifactSizes(quick, fullSize))]);
    if (only.has('metrics')) await attempt('metrics', async () => [await metricsBenchmark(ctx, metricSizes(quick, fullSize))]);
    if (only.has('sampler')) await attempt('sampler', async () => [await samplerBenchmark(ctx)]);
    if (only.has('hosts')) await attempt('hosts', async () => [await hostsBenchmark(ctx, hostSizes(quick), startTeamServer)]);
  } finally {
    await stopServer();
  }
  machine.loadAfter = loadAverage();
  const file = writeReport({ quick, machine, versions, sections, durationMs: performance.now() - started, failures });
  log(`wrote ${file} in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
