// The histories of MLflow's system metrics, sampled as MLflow's SystemMetricsMonitor does
// (mlflow/system_metrics/): one sample every interval, the mean of each group of samples logged as
// one point with MLflow's keys and units (megabytes of 10^6 bytes, percentages rounded to one
// decimal), steps counting from 0. Plus the command's own tree, which MLflow cannot see.
// Loaded only when histories are asked for.
import fs from 'node:fs';
import type { Metric } from '../tracking/store.ts';
import { machineCpuTicks, machineMemory, networkBytes } from './proc.ts';
import type { GpuReading } from './gpu.ts';
import type { TreeUsage } from './tree-usage.ts';

export interface HistorySettings {
  intervalSeconds: number;
  samplesBeforeLogging: number;
  /** MLFLOW_SYSTEM_METRICS_NODE_ID: keys become `system/<node>/...`. */
  nodeId?: string;
}

const MEGABYTE = 1e6;

export class SystemHistory {
  private timer: NodeJS.Timeout;
  private samples = new Map<string, number[]>();
  private sampleCount = 0;
  private step = 0;
  private cpuTicks = machineCpuTicks();
  private readonly networkAtStart = networkBytes();
  private treeCpu: { seconds: number; at: number } | undefined;
  private readonly gpus = new Map<number, GpuReading>();

  private readonly settings: HistorySettings;
  private readonly usage: TreeUsage;
  private readonly log: (metrics: Metric[]) => void;

  constructor(settings: HistorySettings, usage: TreeUsage, log: (metrics: Metric[]) => void) {
    this.settings = settings;
    this.usage = usage;
    this.log = log;
    const tree = usage.sample();
    if (tree) this.treeCpu = { seconds: tree.cpuSeconds, at: performance.now() };
    this.timer = setInterval(() => this.collect(), settings.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** nvidia-smi's latest reading of one GPU (gpu.ts). */
  gpu(reading: GpuReading): void {
    this.gpus.set(reading.index, reading);
  }

  /** The command ended: a last sample, and what was sampled since the last point is logged. */
  finish(): void {
    clearInterval(this.timer);
    this.collect();
    if (this.sampleCount > 0) this.publish();
  }

  private collect(): void {
    const add = (key: string, value: number | undefined) => {
      if (value === undefined || !Number.isFinite(value)) return;
      const values = this.samples.get(key);
      if (values) values.push(value);
      else this.samples.set(key, [value]);
    };
    const ticks = machineCpuTicks();
    if (ticks && this.cpuTicks && ticks.total > this.cpuTicks.total) {
      add('cpu_utilization_percentage', ((ticks.busy - this.cpuTicks.busy) / (ticks.total - this.cpuTicks.total)) * 100);
    }
    this.cpuTicks = ticks;
    const memory = machineMemory();
    if (memory) {
      add('system_memory_usage_megabytes', memory.usedBytes / MEGABYTE);
      add('system_memory_usage_percentage', (memory.usedBytes / memory.totalBytes) * 100);
    }
    this.collectDisk(add);
    const network = networkBytes();
    if (network && this.networkAtStart) {
      // MLflow keeps the latest total since the start, not a mean (network_monitor.py).
      this.samples.set('network_receive_megabytes', [(network.received - this.networkAtStart.received) / MEGABYTE]);
      this.samples.set('network_transmit_megabytes', [(network.sent - this.networkAtStart.sent) / MEGABYTE]);
    }
    for (const gpu of this.gpus.values()) {
      const used = gpu.memoryUsedBytes;
      add(`gpu_${gpu.index}_memory_usage_megabytes`, used === undefined ? undefined : used / MEGABYTE);
      add(`gpu_${gpu.index}_memory_usage_percentage`, used === undefined || !gpu.memoryTotalBytes ? undefined : (used / gpu.memoryTotalBytes) * 100);
      add(`gpu_${gpu.index}_utilization_percentage`, gpu.utilizationPercent);
      add(`gpu_${gpu.index}_power_usage_watts`, gpu.powerWatts);
      add(`gpu_${gpu.index}_power_usage_percentage`, gpu.powerWatts === undefined || !gpu.powerLimitWatts ? undefined : (gpu.powerWatts / gpu.powerLimitWatts) * 100);
    }
    const tree = this.usage.sample();
    const now = performance.now();
    if (tree) {
      add('process_memory_rss_megabytes', tree.rssBytes / MEGABYTE);
      // As psutil's Process.cpu_percent: 100 is one core busy all the time.
      if (this.treeCpu && now > this.treeCpu.at) add('process_cpu_percentage', (Math.max(0, tree.cpuSeconds - this.treeCpu.seconds) / ((now - this.treeCpu.at) / 1000)) * 100);
      this.treeCpu = { seconds: tree.cpuSeconds, at: now };
    }
    this.sampleCount += 1;
    if (this.sampleCount >= this.settings.samplesBeforeLogging) this.publish();
  }

  /** psutil.disk_usage('/'): used and free (to unprivileged users) of the root file system. */
  private collectDisk(add: (key: string, value: number | undefined) => void): void {
    let disk: fs.StatsFs;
    try {
      disk = fs.statfsSync('/');
    } catch {
      return;
    }
    const used = (disk.blocks - disk.bfree) * disk.bsize;
    const free = disk.bavail * disk.bsize;
    add('disk_usage_percentage', (used / (used + free)) * 100);
    add('disk_usage_megabytes', used / MEGABYTE);
    add('disk_available_megabytes', free / MEGABYTE);
  }

  private publish(): void {
    const prefix = `system/${this.settings.nodeId ? `${this.settings.nodeId}/` : ''}`;
    const timestamp = Date.now();
    const metrics: Metric[] = [];
    for (const [key, values] of this.samples) {
      const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
      // MLflow rounds every mean to one decimal but the network's totals.
      const value = key.startsWith('network_') ? mean : Math.round(mean * 10) / 10;
      metrics.push({ key: prefix + key, value, timestamp, step: this.step });
    }
    this.samples.clear();
    this.sampleCount = 0;
    this.step += 1;
    if (metrics.length > 0) this.log(metrics);
  }
}
