// A team's set-up on loopback: `mlflow server` on PostgreSQL with artifacts in S3 (moto), in the
// two ways teams run it. Proxied: the server serves artifacts from `--artifacts-destination s3://…`
// and presigns multipart parts. Direct: `--no-serve-artifacts`, runs get `s3://…` locations and
// clients write to the bucket themselves. One rig per test file that needs it; both servers share
// its PostgreSQL (a database each) and its bucket (a prefix each).
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startMlflowServer, type MlflowServer } from './mlflow-server.ts';
import { startPostgres, type Postgres } from './postgres.ts';
import { inspectS3, startS3Server, type S3Server } from './s3.ts';

export type ArtifactMode = 'proxied' | 'direct';

export interface TeamRig {
  postgres: Postgres;
  s3: S3Server;
  bucket: string;
  servers: Record<ArtifactMode, TeamServer>;
  /**
   * With `faultyParts`: a proxy in front of moto for the proxied server, whose presigned part URLs
   * then point at it, so a test can cut the parts' PUTs.
   */
  s3Proxy: FaultProxy | undefined;
  stop(): Promise<void>;
}

export interface TeamServer {
  server: MlflowServer;
  /** where its artifacts land: `s3://<bucket>/<mode>` */
  artifactRoot: string;
  /** the bucket's keys of its artifacts start with this */
  keyPrefix: string;
}

export const TEAM_BUCKET = 'mlrun-team';

/** Starts PostgreSQL, moto with the bucket, and an mlflow server per mode; all die with the test process. */
export interface TeamRigOptions {
  modes?: readonly ArtifactMode[];
  faultyParts?: boolean;
  /** Where the servers listen (default loopback), e.g. a bridge that network namespaces reach. */
  host?: string;
  /** More arguments for each `mlflow server`, e.g. ['--workers', '2']. */
  serverArgs?: string[];
}

export async function startTeamRig(options: TeamRigOptions = {}): Promise<TeamRig> {
  const [postgres, s3] = await Promise.all([startPostgres({ ownedByProcess: true }), startS3Server({ ownedByProcess: true })]);
  inspectS3(s3, { bucket: TEAM_BUCKET, create: true });
  const s3Proxy = options.faultyParts ? await startFaultProxy(s3.endpoint) : undefined;
  const servers = {} as Record<ArtifactMode, TeamServer>;
  // One after the other: each runs MLflow's migrations on its own database, which takes the CPU.
  for (const mode of options.modes ?? ['proxied', 'direct']) {
    const artifactRoot = `s3://${TEAM_BUCKET}/${mode}`;
    const server = await startMlflowServer({
      ownedByProcess: true,
      ...(options.host ? { host: options.host } : {}),
      ...(options.serverArgs ? { args: options.serverArgs } : {}),
      backendStoreUri: postgres.createDatabase(`mlflow_${mode}`),
      artifactArgs: mode === 'proxied' ? ['--artifacts-destination', artifactRoot] : ['--no-serve-artifacts', '--default-artifact-root', artifactRoot],
      env: {
        ...s3.env,
        ...(mode === 'proxied' ? { MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: 'true', MLFLOW_S3_ENDPOINT_URL: s3Proxy?.uri ?? s3.endpoint } : {}),
      },
    });
    servers[mode] = { server, artifactRoot, keyPrefix: `${mode}/` };
  }
  return {
    postgres,
    s3,
    bucket: TEAM_BUCKET,
    servers,
    s3Proxy,
    async stop() {
      await Promise.all(Object.values(servers).map(({ server }) => server.stop()));
      await s3Proxy?.close();
      await Promise.all([postgres.stop(), s3.stop()]);
    },
  };
}
