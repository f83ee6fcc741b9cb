// Multipart upload through an MLflow server (http_artifact_repo.py `_try_multipart_upload`): the
// server creates the upload and presigns one URL per part, the parts go straight to the storage
// (S3, GCS, Azure), and the server completes it. Any failure after create aborts the upload.
import path from 'node:path';
import type { ArtifactFile } from './collect.ts';
import { multipartEndpoint } from './destination.ts';
import { isMultipartUnsupported, type ArtifactHttp } from './http-client.ts';
import { runPool } from './pool.ts';
import type { LeftoverUpload } from './upload-listing.ts';

/** S3's ceiling on parts per upload. */
const MAX_PARTS = 10_000;
const PARALLEL_PARTS = 4;
/** How long freeing an upload's parts may take, whatever ended the upload. */
export const ABORT_TIMEOUT_MS = 30_000;

interface PartCredential {
  url: string;
  part_number: number;
  headers?: Record<string, string>;
}

export interface MultipartTarget {
  http: ArtifactHttp;
  runPath: string;
  file: ArtifactFile;
  size: number;
  chunkSize: number;
  signal: AbortSignal | undefined;
  onBytes: (delta: number) => void;
  /** Told the upload's id once the server created it (before any part goes). */
  onCreated?: (uploadId: string) => void;
}

/** 'unsupported' when the server's store has no multipart upload: nothing was created then. */
export async function uploadMultipart(target: MultipartTarget): Promise<'uploaded' | 'unsupported'> {
  const { http, runPath, file, size, signal } = target;
  const { chunkSize, parts: numParts } = partLayout(size, target.chunkSize);
  // The server keeps only the base name of `path` (the Python client sends its local path).
  const name = path.posix.basename(file.artifactPath);
  let created: { upload_id?: unknown; credentials?: unknown };
  try {
    created = await http.post(
      multipartEndpoint('create', runPath, file.artifactPath),
      { path: name, num_parts: numParts },
      signal,
    );
  } catch (error) {
    if (isMultipartUnsupported(error)) return 'unsupported';
    throw error;
  }
  const uploadId = String(created.upload_id);
  target.onCreated?.(uploadId);
  const credentials = (Array.isArray(created.credentials) ? created.credentials : []) as PartCredential[];
  try {
    if (credentials.length !== numParts) throw new Error(`the server presigned ${credentials.length} parts for ${numParts}`);
    // The first part that fails (after its own retries) stops the others, so that the abort below
    // comes at once and no part lands in the storage after it.
    const stopParts = new AbortController();
    const partSignal = signal ? AbortSignal.any([signal, stopParts.signal]) : stopParts.signal;
    const etags = await runPool(credentials, PARALLEL_PARTS, async (credential, index) => {
      // Part i covers chunk i, as the Python client reads it.
      const offset = index * chunkSize;
      try {
        const answer = await http.putFile({
          target: credential.url,
          localPath: file.localPath,
          range: { offset, length: Math.min(size, offset + chunkSize) - offset },
          headers: credential.headers ?? {},
          signal: partSignal,
          onBytes: target.onBytes,
        });
        return answer.headers.etag ?? '';
      } catch (error) {
        stopParts.abort(error);
        throw error;
      }
    });
    const parts = credentials.map((credential, index) => ({ part_number: credential.part_number, etag: etags[index], url: credential.url }));
    await http.post(multipartEndpoint('complete', runPath, file.artifactPath), { path: name, upload_id: uploadId, parts }, signal);
    return 'uploaded';
  } catch (error) {
    await abort(http, runPath, file.artifactPath, uploadId);
    throw error;
  }
}

/** Parts of `chunkSize` bytes, the chunk grown when the file would need more parts than S3 allows. */
export function partLayout(size: number, chunkSize: number): { chunkSize: number; parts: number } {
  const chunk = Math.max(chunkSize, Math.ceil(size / MAX_PARTS));
  return { chunkSize: chunk, parts: Math.ceil(size / chunk) };
}

/**
 * Frees the parts of a multipart upload the server created; throws what the server answered. Its
 * own time limit, not the caller's signal: that may be what ended the upload, and the stored parts
 * must still be freed.
 */
export async function abortMultipart(http: ArtifactHttp, runPath: string, leftover: LeftoverUpload): Promise<void> {
  const { artifactPath, uploadId } = leftover;
  const body = { path: path.posix.basename(artifactPath), upload_id: uploadId };
  await http.post(multipartEndpoint('abort', runPath, artifactPath), body, AbortSignal.timeout(ABORT_TIMEOUT_MS));
}

async function abort(http: ArtifactHttp, runPath: string, artifactPath: string, uploadId: string): Promise<void> {
  try {
    await abortMultipart(http, runPath, { artifactPath, uploadId });
  } catch {
    // The part failure is the error worth reporting; storage lifecycle rules clear what remains.
  }
}
