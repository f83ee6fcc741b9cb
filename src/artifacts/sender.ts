// The sender for each kind of artifact location: copies into a local folder (the embedded store),
// PUTs through a server's proxied artifact store, or writes to S3 itself. upload.ts runs the files
// through whichever it gets without asking which it is.
import { describeError } from '../report.ts';
import type { ArtifactFile } from './collect.ts';
import type { Destination } from './destination.ts';
import type { ArtifactHttp } from './http-client.ts';
import { abortLeftovers, readMultipartSettings, uploadOverHttp } from './http-upload.ts';
import { folderCopier } from './local-copy.ts';
import type { LeftoverUpload, ListedUpload } from './upload-listing.ts';

/**
 * Copies in flight into a local folder: a small one is over before the next starts (local-copy.ts);
 * staged ones run on libuv's thread pool, which stays busy only with copies queued behind the
 * running ones (fewer left its threads idle between turns).
 */
const LOCAL_CONCURRENCY = 16;

/** Resolves to the bytes stored. */
type SendFile = (file: ArtifactFile, size: number, onBytes: (delta: number) => void) => Promise<number>;

export interface Sender {
  send: SendFile;
  /** Files in flight at once; upload.ts's default unless the destination takes more. */
  concurrency?: number;
  problems: string[];
  /** Aborts the multipart uploads an upload that was cut off left; one line per failure. */
  abortCutOff: (leftovers: LeftoverUpload[]) => Promise<string[]>;
  close: () => Promise<void>;
}

export async function openSender(
  destination: Exclude<Destination, { kind: 'unsupported' }>,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
  listed: ListedUpload | undefined,
): Promise<Sender | { problem: string }> {
  if (destination.kind === 'local') {
    const copy = folderCopier(destination.dir);
    // Sized at collection: a file that changed since is copied whole all the same.
    return { send: (file, size) => copy(file, size).then(() => size), concurrency: LOCAL_CONCURRENCY, problems: [], abortCutOff: async () => [], close: async () => undefined };
  }
  if (destination.kind === 's3') {
    try {
      // Loaded only here: the AWS SDK is for runs whose artifacts live in S3.
      const { s3Sender } = await import('./s3-upload.ts');
      return await s3Sender(destination, env, signal);
    } catch (error) {
      return { problem: describeError(error) };
    }
  }
  const { settings, problems } = readMultipartSettings(env);
  let http: ArtifactHttp;
  let close: () => void;
  try {
    // Loaded only here: an embedded-store run never needs the HTTP stack.
    const [{ HttpClient }, { RestClient }, { putFile }] = await Promise.all([
      import('../http/client.ts'),
      import('../tracking/rest/client.ts'),
      import('./file-put.ts'),
    ]);
    // One pool of connections for the JSON calls (multipart) and the files.
    const client = new HttpClient(destination.serviceUri, env);
    const rest = new RestClient(destination.serviceUri, env, client);
    http = { post: (endpoint, body, postSignal) => rest.post(endpoint, body, postSignal), putFile: (put) => putFile(client, put) };
    close = () => client.close();
  } catch (error) {
    return { problem: describeError(error) };
  }
  const { runPath } = destination;
  return {
    send: (file, size, onBytes) =>
      uploadOverHttp({
        http, runPath, multipart: settings, file, size, signal, onBytes,
        onMultipartCreated: (uploadId) => listed?.addMultipart({ artifactPath: file.artifactPath, uploadId }),
      }),
    problems,
    abortCutOff: (leftovers) => abortLeftovers(http, runPath, leftovers),
    close: async () => close(),
  };
}
