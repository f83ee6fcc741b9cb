// What the command's process tree cost: its peak resident memory, its CPU seconds and, where it
// used an NVIDIA GPU, its peak GPU memory. Measured for every stage, so each sample is cheap (a
// few files of /proc per process of the tree, process-tree.ts) and none of it runs on the
// command's critical path.
import type { Metric } from '../tracking/store.ts';
import { ProcessTree, reapedChildrenCpuSeconds, type TreeSample } from './process-tree.ts';

/** Samples come quickly at first, so that a short command is seen in full, then every second. */
const FIRST_GAP_MS = 10;
const LAST_GAP_MS = 1000;
const MEGABYTE = 1e6;

export class TreeUsage {
  private tree: ProcessTree | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reapedCpuAtStart: number | undefined;
  private treeCpuSeconds = 0;
  private cpuSeconds: number | undefined;
  private peakRssBytes = 0;
  private treePids = new Set<number>();
  private gpuBytesByPid = new Map<number, number>();
  private peakGpuBytes = 0;

  /** The command was spawned (its program is already exec'd): the first sample. */
  start(pid: number): void {
    this.tree = new ProcessTree(pid);
    this.reapedCpuAtStart = reapedChildrenCpuSeconds();
    this.sample(false);
    this.schedule(FIRST_GAP_MS);
  }

  /** Takes a sample now (also for the histories); undefined once the command is gone. */
  sample(withDescendants = true): TreeSample | undefined {
    if (this.tree === undefined || this.cpuSeconds !== undefined) return undefined;
    const sample = this.tree.sample(withDescendants);
    if (!sample) return undefined;
    this.peakRssBytes = Math.max(this.peakRssBytes, sample.rssBytes, sample.largestPeakBytes);
    this.treeCpuSeconds = Math.max(this.treeCpuSeconds, sample.cpuSeconds);
    this.treePids = new Set(sample.pids);
    this.addGpuMemory();
    return sample;
  }

  /**
   * The command was reaped: mlrun's own count of its waited-for children now holds the command
   * and every descendant that was waited for. It also holds the few git commands mlrun may run
   * meanwhile, hence never less than what the samples saw.
   */
  ended(): void {
    clearTimeout(this.timer);
    const reaped = reapedChildrenCpuSeconds();
    const atStart = this.reapedCpuAtStart;
    this.cpuSeconds = reaped !== undefined && atStart !== undefined ? Math.max(reaped - atStart, this.treeCpuSeconds) : this.treeCpuSeconds;
  }

  /** A process's GPU memory as nvidia-smi reports it (gpu.ts): counted when it is in the tree. */
  gpuMemory(pid: number, usedBytes: number): void {
    this.gpuBytesByPid.set(pid, usedBytes);
    this.addGpuMemory();
  }

  /**
   * The summary metrics, once the command ended; none when it never ran or there is no /proc. A
   * command that was gone before its first sample (`true`) has no memory to show.
   */
  summary(timestamp: number): Metric[] {
    if (this.cpuSeconds === undefined) return [];
    const point = (key: string, value: number): Metric => ({ key, value, timestamp, step: 0 });
    return [
      ...(this.peakRssBytes > 0 ? [point('system/process_peak_rss_megabytes', round(this.peakRssBytes / MEGABYTE))] : []),
      point('system/process_cpu_seconds', round(this.cpuSeconds)),
      ...(this.peakGpuBytes > 0 ? [point('system/process_peak_gpu_memory_megabytes', round(this.peakGpuBytes / MEGABYTE))] : []),
    ];
  }

  private addGpuMemory(): void {
    let bytes = 0;
    for (const [pid, used] of this.gpuBytesByPid) if (this.treePids.has(pid)) bytes += used;
    this.peakGpuBytes = Math.max(this.peakGpuBytes, bytes);
  }

  /**
   * A sample may come due after the command exited but before mlrun reaps it: libuv waits for the
   * child on SIGCHLD in the loop's poll phase, after its timers. process-tree.ts then finds the
   * tree gone: a zombie's memory of 0 would otherwise be the last point of the RSS history.
   */
  private schedule(gapMs: number): void {
    this.timer = setTimeout(() => {
      this.sample();
      this.schedule(Math.min(gapMs * 2, LAST_GAP_MS));
    }, gapMs);
    this.timer.unref();
  }
}

/** Two decimals: what the MLflow UI shows of a value. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
