// A stage's system metrics: the summary of its process tree for every stage (tree-usage.ts), the
// histories of MLflow's system metrics when asked for (history.ts), NVIDIA GPUs through
// nvidia-smi where it is installed (gpu.ts). The command is spawned before any of it starts, and
// what only some runs need is loaded then.
import type { ChildProcess } from 'node:child_process';
import { describeError, type Reporter } from '../report.ts';
import type { Metric } from '../tracking/store.ts';
import type { Tracking } from '../tracking/tracked-run.ts';
import type { HistorySettings, SystemHistory } from './history.ts';
import { TreeUsage } from './tree-usage.ts';

/** How often nvidia-smi reports the processes using a GPU, for the summary's peak. */
const GPU_PROCESS_INTERVAL_MS = 1000;

export class SystemMetrics {
  private readonly usage = new TreeUsage();
  private history: Promise<SystemHistory | undefined> = Promise.resolve(undefined);
  private stopGpu: (() => void)[] = [];
  private delivered: Promise<void> = Promise.resolve();
  private finished = false;

  private readonly histories: HistorySettings | undefined;
  private readonly tracking: Tracking;
  private readonly env: NodeJS.ProcessEnv;
  private readonly reporter: Reporter;

  constructor(histories: HistorySettings | undefined, tracking: Tracking, env: NodeJS.ProcessEnv, reporter: Reporter) {
    this.histories = histories;
    this.tracking = tracking;
    this.env = env;
    this.reporter = reporter;
  }

  /** Handed to runCommand: the command has just started. */
  readonly onSpawn = (child: ChildProcess): void => {
    if (process.platform !== 'linux') {
      this.reporter.info(`no system metrics on ${process.platform}: they are read from Linux's /proc`);
      return;
    }
    if (child.pid === undefined) return;
    try {
      this.usage.start(child.pid);
    } catch (error) {
      // The command runs on whatever happens here.
      this.reporter.warn(`cannot measure the command's processes: ${describeError(error)}`);
      return;
    }
    child.once('exit', () => this.usage.ended());
    this.history = this.histories ? this.startHistory(this.histories) : Promise.resolve(undefined);
    // After the command's start, off its path: a look along PATH, and nvidia-smi only where it is.
    setImmediate(() => void this.watchGpus().catch(() => undefined));
  };

  /** The command ended: the last history point and the summary go to the run, unless `hurry` says stop waiting. */
  async finish(hurry: AbortSignal): Promise<void> {
    const history = await this.history;
    this.finished = true;
    history?.finish();
    for (const stop of this.stopGpu) stop();
    this.deliver(this.usage.summary(Date.now()));
    if (hurry.aborted) return;
    await new Promise<void>((resolve) => {
      hurry.addEventListener('abort', () => resolve(), { once: true });
      void this.delivered.then(resolve);
    });
  }

  private async startHistory(settings: HistorySettings): Promise<SystemHistory> {
    const { SystemHistory } = await import('./history.ts');
    return new SystemHistory(settings, this.usage, (metrics) => this.deliver(metrics));
  }

  private async watchGpus(): Promise<void> {
    const { COMPUTE_APPS_QUERY, GPU_QUERY, findNvidiaSmi, parseComputeAppLine, parseGpuLine, watchNvidiaSmi } = await import('./gpu.ts');
    const nvidiaSmi = findNvidiaSmi(this.env);
    if (!nvidiaSmi || this.finished) return;
    this.stopGpu.push(
      watchNvidiaSmi(nvidiaSmi, COMPUTE_APPS_QUERY, GPU_PROCESS_INTERVAL_MS, (line) => {
        const app = parseComputeAppLine(line);
        if (app) this.usage.gpuMemory(app.pid, app.usedBytes);
      }),
    );
    const history = await this.history;
    if (!history || !this.histories || this.finished) return;
    this.stopGpu.push(
      watchNvidiaSmi(nvidiaSmi, GPU_QUERY, this.histories.intervalSeconds * 1000, (line) => {
        const reading = parseGpuLine(line);
        if (reading) history.gpu(reading);
      }),
    );
  }

  /** In order, one batch after the other. */
  private deliver(metrics: Metric[]): void {
    if (metrics.length === 0) return;
    // Through the run's store, which moves to the offline record by itself when the server is lost.
    this.delivered = this.delivered.then(() =>
      this.tracking.store.logBatch(this.tracking.run.runId, { metrics }).catch((error: unknown) => {
        this.reporter.warn(`could not log the system metrics: ${describeError(error)}`);
      }),
    );
  }
}
