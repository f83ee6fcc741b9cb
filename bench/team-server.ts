// The team's server for the many-hosts benchmark, as a team runs it: the test rig's proxied
// `mlflow server` on PostgreSQL with artifacts in S3 (moto), listening where the hosts reach it;
// and the CPU the server and its database have used, read from /proc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTeamRig } from '../test/support/team-rig.ts';

export interface TeamServer {
  uri: string;
  /** for the report */
  description: string;
  /** user + system seconds of the server's and its database's processes so far */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const TICKS_PER_SECOND = 100;

/** CPU seconds of the live processes whose working folder is inside one of `dirs`. */
function cpuSecondsIn(dirs: string[]): number {
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
  const rig = await startTeamRig({ modes: ['proxied'], host: address, serverArgs: ['--workers', String(workers)] });
  const { server } = rig.servers.proxied;
  return {
    uri: server.uri,
    description: `\`mlflow server --workers ${workers}\` on PostgreSQL 15, artifacts proxied to S3 (moto)`,
    cpuSeconds: () => cpuSecondsIn([server.dir, rig.postgres.dir]),
    stop: async () => {
      await rig.stop();
      fs.rmSync(server.dir, { recursive: true, force: true });
    },
  };
}
