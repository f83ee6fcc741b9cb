// One file to an MLflow server's artifacts service: multipart for big files where the server's
// store offers it, else one PUT streamed from disk (http_artifact_repo.py `log_artifact`).
import type { ArtifactFile } from './collect.ts';
import { artifactEndpoint } from './destination.ts';
import type { ArtifactHttp } from './http-client.ts';
import { abortMultipart, uploadMultipart } from './multipart.ts';
import { describeError } from '../report.ts';
import { quoteName } from './artifact-name.ts';
import type { LeftoverUpload } from './upload-listing.ts';

export interface MultipartSettings {
  enabled: boolean;
  /** bytes; smaller files always go in one PUT */
  minimumSize: number;
  /** bytes per part */
  chunkSize: number;
}

const MIB = 1024 * 1024;

/**
 * MLflow's variables, with its defaults for the sizes. Unlike the Python client, mlrun tries
 * multipart unless MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD is explicitly false: a store without it
 * costs one POST answered 501 per big file, and a store with it gets parallel, direct parts.
 */
export function readMultipartSettings(env: NodeJS.ProcessEnv): { settings: MultipartSettings; problems: string[] } {
  const problems: string[] = [];
  const size = (name: string, fallback: number): number => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const value = Number(text);
    if (Number.isSafeInteger(value) && value > 0) return value;
    problems.push(`${name}=${text} is not a whole number of bytes > 0: using ${fallback}`);
    return fallback;
  };
  const flag = env.MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD?.trim().toLowerCase();
  return {
    settings: {
      enabled: flag !== 'false' && flag !== '0',
      minimumSize: size('MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE', 500 * MIB),
      chunkSize: size('MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE', 10 * MIB),
    },
    problems,
  };
}

export interface HttpUpload {
  http: ArtifactHttp;
  runPath: string;
  multipart: MultipartSettings;
  file: ArtifactFile;
  size: number;
  signal: AbortSignal | undefined;
  onBytes: (delta: number) => void;
  onMultipartCreated?: (uploadId: string) => void;
}

/** `size` (from collection) chooses multipart; resolves to the bytes stored. */
export async function uploadOverHttp(upload: HttpUpload): Promise<number> {
  const { http, runPath, multipart, file, size, signal, onBytes, onMultipartCreated: onCreated } = upload;
  if (multipart.enabled && size > 0 && size >= multipart.minimumSize) {
    const outcome = await uploadMultipart({ http, runPath, file, size, chunkSize: multipart.chunkSize, signal, onBytes, onCreated });
    if (outcome === 'uploaded') return size;
  }
  const put = await http.putFile({ target: artifactEndpoint(runPath, file.artifactPath), localPath: file.localPath, signal, onBytes });
  return put.bytes;
}

/** Aborts, one by one, the multipart uploads the server created for an upload that was cut off. */
export async function abortLeftovers(http: ArtifactHttp, runPath: string, leftovers: readonly LeftoverUpload[]): Promise<string[]> {
  const problems: string[] = [];
  for (const leftover of leftovers) {
    await abortMultipart(http, runPath, leftover).catch((error: unknown) => {
      problems.push(`could not abort the unfinished upload of ${quoteName(leftover.artifactPath)} (${leftover.uploadId}): ${describeError(error)}`);
    });
  }
  return problems;
}
