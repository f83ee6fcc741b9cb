// What Linux's /proc says about the machine, and the readers of its files that process-tree.ts
// shares. Every read is a small file of the kernel's: no process is started. Elsewhere (no /proc)
// the readers return undefined.
import fs from 'node:fs';

/** Busy and total CPU time of the whole machine (/proc/stat), as psutil counts them for cpu_percent. */
export function machineCpuTicks(): { busy: number; total: number } | undefined {
  const line = readText('/proc/stat')?.split('\n', 1)[0];
  if (!line?.startsWith('cpu ')) return undefined;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in
  // user and nice, and idle + iowait is not busy (psutil/__init__.py, _cpu_tot_time, _cpu_busy_time).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).slice(1).map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idle - iowait, total };
}

/** Used memory as psutil's virtual_memory() counts it on Linux: total − MemAvailable. */
export function machineMemory(): { usedBytes: number; totalBytes: number } | undefined {
  const text = readText('/proc/meminfo');
  const total = kilobytes(/^MemTotal:\s*(\d+) kB/m, text ?? '');
  const available = kilobytes(/^MemAvailable:\s*(\d+) kB/m, text ?? '');
  return total !== undefined && available !== undefined ? { usedBytes: total - available, totalBytes: total } : undefined;
}

/** Bytes received and sent by all interfaces, loopback included (psutil's net_io_counters()). */
export function networkBytes(): { received: number; sent: number } | undefined {
  const lines = readText('/proc/net/dev')?.split('\n').slice(2);
  if (!lines) return undefined;
  let received = 0;
  let sent = 0;
  for (const line of lines) {
    const counters = line.slice(line.indexOf(':') + 1).trim().split(/\s+/);
    if (counters.length < 9) continue;
    received += Number(counters[0]);
    sent += Number(counters[8]);
  }
  return { received, sent };
}

/** A `Name:  123 kB` line of a /proc file, in bytes. */
export function kilobytes(line: RegExp, text: string): number | undefined {
  const value = line.exec(text)?.[1];
  return value === undefined ? undefined : Number(value) * 1024;
}

export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}
