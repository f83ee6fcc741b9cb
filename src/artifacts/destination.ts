// Where a run's artifacts go, chosen from its artifact URI by scheme as MLflow's
// artifact_repository_registry.py does, for the schemes mlrun writes: local folders, an MLflow
// server's artifacts service, and S3 (through the AWS SDK, loaded only for it: s3-upload.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUri } from '../tracking/redact.ts';

/** The artifacts service of an MLflow server (mlflow/protos/mlflow_artifacts.proto). */
const ARTIFACTS_API = '/api/2.0/mlflow-artifacts';

export type Destination =
  | {
      kind: 'http';
      /** scheme, host and path prefix of the server: what comes before ARTIFACTS_API */
      serviceUri: string;
      /** the run's folder in the served store, e.g. `1/<run id>/artifacts`, no slash at either end */
      runPath: string;
    }
  | { kind: 'local'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      /** the run's folder in the bucket, e.g. `mlflow/1/<run id>/artifacts`, no slash at either end */
      prefix: string;
    }
  | { kind: 'unsupported'; reason: string };

/** Cloud stores MLflow writes with an SDK mlrun does not carry yet. */
const CLOUD_STORES: Record<string, string> = {
  gs: 'Google Cloud Storage',
  wasbs: 'Azure Blob Storage',
  abfss: 'Azure Data Lake Storage',
};

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const SERVED_MARKER = `${ARTIFACTS_API}/artifacts`;

/**
 * `trackingUri` resolves `mlflow-artifacts:` URIs, as in mlflow_artifacts_repo.py `resolve_uri`;
 * `cwd` resolves a relative local path, as the Python client would from there.
 */
export function artifactDestination(artifactUri: string, trackingUri: string | undefined, cwd: string): Destination {
  const scheme = SCHEME.exec(artifactUri)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive.
  if (!scheme || scheme.length === 1) return { kind: 'local', dir: path.resolve(cwd, artifactUri) };
  if (scheme === 'file') return fileDestination(artifactUri);
  if (scheme === 'mlflow-artifacts') return servedDestination(artifactUri, trackingUri);
  if (scheme === 'http' || scheme === 'https') return httpDestination(artifactUri);
  if (scheme === 's3') return s3Destination(artifactUri);
  const cloud = CLOUD_STORES[scheme];
  if (cloud) {
    return {
      kind: 'unsupported',
      reason: `the run's artifact location ${redactUri(artifactUri)} is in ${cloud}, which mlrun does not write to yet; let the MLflow server proxy artifacts instead (mlflow server --artifacts-destination ${scheme}://…)`,
    };
  }
  return {
    kind: 'unsupported',
    reason: `the run's artifact location ${redactUri(artifactUri)} is in '${scheme}:' storage, which mlrun cannot write to directly; serve artifacts through the MLflow server (mlflow server --serve-artifacts, an mlflow-artifacts:/ location) or use a local folder`,
  };
}

/** The endpoint (relative to serviceUri) of one artifact: every segment percent-encoded. */
export function artifactEndpoint(runPath: string, artifactPath: string): string {
  return `${SERVED_MARKER}/${joinPath(runPath, encodeSegments(artifactPath))}`;
}

/** `mpu/create` and friends take the artifact's folder; the file name travels in the body. */
export function multipartEndpoint(op: 'create' | 'complete' | 'abort', runPath: string, artifactPath: string): string {
  const folder = path.posix.dirname(artifactPath);
  return `${ARTIFACTS_API}/mpu/${op}/${joinPath(runPath, folder === '.' ? '' : encodeSegments(folder))}`;
}

function fileDestination(artifactUri: string): Destination {
  try {
    return { kind: 'local', dir: fileURLToPath(artifactUri) };
  } catch (error) {
    return { kind: 'unsupported', reason: `the run's artifact location ${redactUri(artifactUri)} is not a local file URI (${(error as Error).message})` };
  }
}

/** `s3://bucket/key…`, parsed as s3_artifact_repo.py `parse_s3_compliant_uri` does. */
function s3Destination(artifactUri: string): Destination {
  const url = parseUrl(artifactUri);
  if (!url?.hostname) return { kind: 'unsupported', reason: `the run's artifact location ${redactUri(artifactUri)} names no S3 bucket` };
  return { kind: 's3', bucket: url.hostname, prefix: trimSlashes(decodeURIComponent(url.pathname)) };
}

function servedDestination(artifactUri: string, trackingUri: string | undefined): Destination {
  const tracking = parseUrl(trackingUri ?? '');
  if (!tracking || (tracking.protocol !== 'http:' && tracking.protocol !== 'https:')) {
    return {
      kind: 'unsupported',
      reason: `the run's artifact location ${redactUri(artifactUri)} is served by an MLflow server, but the tracking URI ${redactUri(trackingUri ?? '(none)')} is not one (http:// or https://)`,
    };
  }
  const artifact = parseUrl(artifactUri)!;
  // mlflow-artifacts://host:port/… names a separate artifacts server: its host replaces the
  // tracking server's (and the tracking URI's userinfo, which belongs to the other host).
  const authority = artifact.host ? artifact.host : tracking.host;
  const userinfo = !artifact.host && tracking.username ? `${tracking.username}${tracking.password ? `:${tracking.password}` : ''}@` : '';
  const prefix = tracking.pathname.replace(/\/+$/, '');
  return { kind: 'http', serviceUri: `${tracking.protocol}//${userinfo}${authority}${prefix}`, runPath: trimSlashes(artifact.pathname) };
}

function httpDestination(artifactUri: string): Destination {
  const url = parseUrl(artifactUri);
  const at = url ? url.pathname.indexOf(SERVED_MARKER) : -1;
  if (!url || at < 0) {
    return {
      kind: 'unsupported',
      reason: `the run's artifact location ${redactUri(artifactUri)} is not an MLflow artifacts URL (…${SERVED_MARKER}/…), which is the only HTTP store mlrun writes to`,
    };
  }
  const userinfo = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return {
    kind: 'http',
    serviceUri: `${url.protocol}//${userinfo}${url.host}${url.pathname.slice(0, at)}`,
    runPath: trimSlashes(url.pathname.slice(at + SERVED_MARKER.length)),
  };
}

function encodeSegments(posixPath: string): string {
  return posixPath.split('/').map(encodeURIComponent).join('/');
}

function joinPath(...parts: string[]): string {
  return parts.filter(Boolean).join('/');
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, '');
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
