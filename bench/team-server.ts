// The team's server for the many-hosts benchmark, as a team runs it: `mlflow server` on
// PostgreSQL with artifacts proxied to S3 (the test rig's PostgreSQL and moto), listening where
// the hosts reach it; and the CPU the server and its database have used, read from /proc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMlflowServer } from '../test/support/mlflow-server.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { inspectS3, startS3Server } from '../test/support/s3.ts';

export interface TeamServer {
  uri: string;
  /** for the report */
  description: string;
  /** user + system seconds of the server's and its database's processes so far */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const TICKS_PER_SECOND = 100;
const BUCKET = 'mlrun-bench';

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
  const [postgres, s3] = await Promise.all([startPostgres({ ownedByProcess: true }), startS3Server({ ownedByProcess: true })]);
  inspectS3(s3, { bucket: BUCKET, create: true });
  const workers = Math.max(2, os.availableParallelism());
  const server = await startMlflowServer({
    host: address,
    ownedByProcess: true,
    backendStoreUri: postgres.createDatabase('mlflow_hosts'),
    artifactArgs: ['--artifacts-destination', `s3://${BUCKET}/artifacts`],
    args: ['--workers', String(workers)],
    env: s3.env,
  });
  return {
    uri: server.uri,
    description: `\`mlflow server --workers ${workers}\` on PostgreSQL 15, artifacts proxied to S3 (moto)`,
    cpuSeconds: () => cpuSecondsIn([server.dir, postgres.dir]),
    stop: async () => {
      await server.stop();
      fs.rmSync(server.dir, { recursive: true, force: true });
      await Promise.all([postgres.stop(), s3.stop()]);
    },
  };
}
