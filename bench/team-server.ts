// The team's server for the many-hosts benchmark, listening where the hosts reach it, and the CPU
// its processes have used (every process whose working folder is the server's, read from /proc).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMlflowServer } from '../test/support/mlflow-server.ts';

export interface TeamServer {
  uri: string;
  /** for the report */
  description: string;
  /** user + system seconds of the server's processes so far */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds of the live processes whose working folder is inside one of `dirs`. */
export function cpuSecondsIn(dirs: string[]): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (!dirs.some((dir) => cwd === dir || cwd.startsWith(`${dir}${path.sep}`))) continue;
      // Fields after the command's name (which may hold spaces): utime and stime are 14 and 15.
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export async function startTeamServer(address: string): Promise<TeamServer> {
  const workers = Math.max(2, os.availableParallelism());
  const server = await startMlflowServer({ host: address, ownedByProcess: true, args: ['--workers', String(workers)] });
  return {
    uri: server.uri,
    description: `\`mlflow server --workers ${workers}\`, SQLite backend, proxied artifacts`,
    cpuSeconds: () => cpuSecondsIn([server.dir]),
    stop: async () => {
      await server.stop();
      fs.rmSync(server.dir, { recursive: true, force: true });
    },
  };
}
