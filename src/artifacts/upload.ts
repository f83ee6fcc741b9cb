// Uploads a stage's collected files into its run's artifact location, several at a time. Never
// throws: every problem comes back as one line (without the `mlrun:` prefix) and the other files
// still go. Every name is checked first, the same way for a server and a local folder
// (artifact-name.ts).
import fs from 'node:fs/promises';
import { workingFolder } from '../settings/working-folder.ts';
import { describeError, plural } from '../report.ts';
import { TrackingError } from '../tracking/errors.ts';
import { artifactNameProblem, quoteName } from './artifact-name.ts';
import type { ArtifactFile } from './collect.ts';
import { artifactDestination, type Destination } from './destination.ts';
import { runPool } from './pool.ts';
import type { UploadProgress } from './progress.ts';
import { openSender } from './sender.ts';
import { listUpload, type LeftoverUpload, type ListedUpload, type ListingPlace } from './upload-listing.ts';

export interface UploadRequest {
  /** the run's `artifact_uri` */
  artifactUri: string;
  /** resolves `mlflow-artifacts:` locations; undefined with the embedded store */
  trackingUri: string | undefined;
  /** MLflow's client settings (credentials, TLS, retries, multipart sizes) are read from here */
  env: NodeJS.ProcessEnv;
  files: readonly ArtifactFile[];
  /** ends the upload: running requests stop, files not started are reported */
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  /** files in flight at once */
  concurrency?: number;
  /** resolves a relative local artifact location; default the working folder */
  cwd?: string;
  /** lists an upload to a server or S3 while it runs, for `mlrun sync` to finish if mlrun is killed */
  listing?: ListingPlace;
  /**
   * The files of an upload that was cut off: the multipart uploads it left are aborted first
   * (those the server created, by id; in S3 reached directly, all under the run's location).
   */
  cutOff?: LeftoverUpload[];
}

export interface UploadResult {
  uploaded: number;
  /** bytes of the uploaded files */
  bytes: number;
  /** One line each: files that would fail the same way anywhere (unreadable, a name MLflow refuses), and settings. */
  failures: string[];
  /**
   * Files the store did not take for a reason of its own (gone, refusing their size, failing,
   * the upload abandoned): worth keeping to send later.
   */
  pending: ArtifactFile[];
  /** One line each about the pending files: each failed one, then those not started. */
  pendingFailures: string[];
}

/** Files in flight to a server: a local mlflow server (one worker) takes no more per second beyond about this many. */
const DEFAULT_CONCURRENCY = 6;
const PARALLEL_STATS = 16;

export async function uploadArtifacts(request: UploadRequest): Promise<UploadResult> {
  const { files } = request;
  const result: UploadResult = { uploaded: 0, bytes: 0, failures: [], pending: [], pendingFailures: [] };
  // A cut-off upload's leftovers are aborted even when none of its files is to be sent again.
  if (files.length === 0 && !request.cutOff) return result;

  const destination = artifactDestination(request.artifactUri, request.trackingUri, request.cwd ?? workingFolder());
  if (destination.kind === 'unsupported') {
    result.failures.push(`${destination.reason}: ${plural(files.length, 'file')} not uploaded`);
    return result;
  }
  const listed = request.listing && destination.kind !== 'local' ? listUpload(request.listing, request.artifactUri, files) : undefined;
  try {
    return await uploadThrough(destination, request, listed, result);
  } finally {
    listed?.remove();
  }
}

async function uploadThrough(
  destination: Exclude<Destination, { kind: 'unsupported' }>,
  request: UploadRequest,
  listed: ListedUpload | undefined,
  result: UploadResult,
): Promise<UploadResult> {
  const { files, signal } = request;
  const opened = await openSender(destination, request.env, signal, listed);
  if ('problem' in opened) {
    result.failures.push(`cannot upload artifacts: ${opened.problem}: ${plural(files.length, 'file')} not uploaded`);
    return result;
  }
  result.failures.push(...opened.problems);
  if (request.cutOff) result.failures.push(...(await opened.abortCutOff(request.cutOff)));

  const sizes = await sizesOf(files);
  const progress: UploadProgress = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: sum(sizes) };
  const report = () => request.onProgress?.({ ...progress });
  // Indexed by file, so the lines come out in the files' order whatever finishes first.
  const failures = new Array<{ line: string; pending: boolean } | undefined>(files.length);
  let notStarted = 0;
  const pending = new Array<boolean>(files.length).fill(false);
  // Set when a failure is the whole store's (down, refusing, not serving): the next files would
  // each go through the same minutes of retries to the same answer.
  let storeFailed = false;

  try {
    await runPool(files, request.concurrency ?? opened.concurrency ?? DEFAULT_CONCURRENCY, async (file, index) => {
      if (signal?.aborted || storeFailed) {
        notStarted += 1;
        pending[index] = true;
        return;
      }
      let sent = 0;
      const onBytes = (delta: number) => {
        sent += delta;
        progress.bytesDone += delta;
        report();
      };
      try {
        const nameProblem = artifactNameProblem(file.artifactPath);
        if (nameProblem) throw new Error(nameProblem);
        const stored = await opened.send(file, sizes[index]!, onBytes);
        result.uploaded += 1;
        result.bytes += stored;
        // Local copies report nothing while they run.
        progress.bytesDone += stored - sent;
      } catch (error) {
        progress.bytesDone -= sent;
        storeFailed ||= isStoreWide(error);
        pending[index] = isStoreWide(error) || isWorthKeeping(error) || signal?.aborted === true;
        failures[index] = { line: `cannot upload ${quoteName(file.artifactPath)}: ${describeError(error)}`, pending: pending[index] };
      }
      progress.filesDone += 1;
      report();
    });
  } finally {
    await opened.close();
  }
  for (const failure of failures) {
    if (failure) (failure.pending ? result.pendingFailures : result.failures).push(failure.line);
  }
  result.pending = files.filter((_, index) => pending[index]);
  if (notStarted) {
    const why = storeFailed ? 'the artifact store failed as a whole (above)' : 'upload abandoned';
    result.pendingFailures.push(`${why}: ${plural(notStarted, 'more file')} not started`);
  }
  return result;
}

/** Bytes of each file: as collected, else stat-ed (0 for a file that cannot be). */
async function sizesOf(files: readonly ArtifactFile[]): Promise<number[]> {
  const sizes = files.map((file) => file.size ?? 0);
  // Only the unsized ones go through the pool: a promise per file is no small part of copying one.
  const unsized = files.flatMap((file, index) => (file.size === undefined ? [index] : []));
  await runPool(unsized, PARALLEL_STATS, async (index) => {
    sizes[index] = await fs.stat(files[index]!.localPath).then((stat) => stat.size, () => 0);
  });
  return sizes;
}

/** Unreachable after retries, credentials refused, or artifacts not served (503): no file will fare better. */
function isStoreWide(error: unknown): boolean {
  if (!(error instanceof TrackingError)) return false;
  return error.unreachable || error.httpStatus === 401 || error.httpStatus === 403 || error.httpStatus === 503;
}

/**
 * The store refused this file for a reason that may be gone later: its size (413, a limit someone
 * can raise) or a failure of its own (5xx, or 408 / 429 after the retries). Any other refusal
 * (400, 404) and a file that cannot be read would fail the same way again.
 */
function isWorthKeeping(error: unknown): boolean {
  if (!(error instanceof TrackingError) || error.httpStatus === undefined) return false;
  return error.httpStatus === 413 || error.httpStatus === 408 || error.httpStatus === 429 || error.httpStatus >= 500;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
