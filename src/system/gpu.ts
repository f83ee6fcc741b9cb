// NVIDIA GPUs through `nvidia-smi`, where it is installed: one long-lived nvidia-smi per query
// that prints a CSV line per GPU (or per process using one) every interval (`-lms`), rather than
// one process per sample. Loaded only on a machine that has nvidia-smi.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** One GPU's line of GPU_QUERY; a field nvidia-smi cannot read (`[N/A]`, `[Not Supported]`) is undefined. */
export interface GpuReading {
  index: number;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  powerWatts?: number;
  powerLimitWatts?: number;
}

/** The fields pynvml gives MLflow's GPUMonitor (mlflow/system_metrics/metrics/gpu_monitor.py). */
export const GPU_QUERY = '--query-gpu=index,utilization.gpu,memory.used,memory.total,power.draw,enforced.power.limit';
/** The processes that hold GPU memory, with how much. */
export const COMPUTE_APPS_QUERY = '--query-compute-apps=pid,used_memory';

/** nvidia-smi's `nounits` memory is in MiB. */
const MIB = 1024 * 1024;

function fieldsOf(line: string): (number | undefined)[] {
  return line.split(',').map((field) => {
    const value = Number(field.trim());
    return field.trim() === '' || Number.isNaN(value) ? undefined : value;
  });
}

export function parseGpuLine(line: string): GpuReading | undefined {
  const [index, utilization, used, total, power, limit] = fieldsOf(line);
  if (index === undefined || line.split(',').length !== 6) return undefined;
  return {
    index,
    utilizationPercent: utilization,
    memoryUsedBytes: used === undefined ? undefined : used * MIB,
    memoryTotalBytes: total === undefined ? undefined : total * MIB,
    powerWatts: power,
    powerLimitWatts: limit,
  };
}

export function parseComputeAppLine(line: string): { pid: number; usedBytes: number } | undefined {
  const [pid, used] = fieldsOf(line);
  if (pid === undefined || used === undefined || line.split(',').length !== 2) return undefined;
  return { pid, usedBytes: used * MIB };
}

/** The nvidia-smi on PATH, or undefined. */
export function findNvidiaSmi(env: NodeJS.ProcessEnv): string | undefined {
  for (const folder of (env.PATH ?? '').split(path.delimiter)) {
    if (!folder) continue;
    const file = path.join(folder, 'nvidia-smi');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/**
 * Starts `nvidia-smi <query> --format=csv,noheader,nounits --loop-ms=<intervalMs>` and hands each
 * line to onLine; returns how to stop it. It never keeps mlrun alive, and a failing nvidia-smi
 * (no driver, no GPU) just prints nothing mlrun reads.
 */
export function watchNvidiaSmi(file: string, query: string, intervalMs: number, onLine: (line: string) => void): () => void {
  const child = spawn(file, [query, '--format=csv,noheader,nounits', `--loop-ms=${Math.max(1, Math.round(intervalMs))}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.on('error', () => undefined);
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine(line.trim());
  });
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  const stop = () => child.kill();
  process.once('exit', stop);
  return () => {
    process.off('exit', stop);
    stop();
  };
}
