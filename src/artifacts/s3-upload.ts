// Writes a run's files straight into its `s3://` artifact location, as MLflow's S3 artifact
// repository does with boto3 (s3_artifact_repo.py `_upload_file`): the AWS SDK with its standard
// credential chain, small files in one PUT, the others in a managed multipart upload that is
// aborted when it fails. Loaded only for such a run (upload.ts imports it when it needs it), and
// the SDK only then (s3-sdk.ts): no other stage pays for it at start-up.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import https from 'node:https';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { describeNetworkError, isRetriedNetworkError } from '../http/errors.ts';
import { describeError } from '../report.ts';
import { TrackingError } from '../tracking/errors.ts';
import { redactUri } from '../tracking/redact.ts';
import type { ArtifactFile } from './collect.ts';
import type { Destination } from './destination.ts';
import { ABORT_TIMEOUT_MS, partLayout } from './multipart.ts';
import { readS3Settings, type S3Settings } from './s3-settings.ts';
import type { Sender } from './sender.ts';

const MIB = 1024 * 1024;
// boto3's TransferConfig defaults, which MLflow's uploads use: multipart from 8 MiB, in 8 MiB parts.
const MULTIPART_THRESHOLD = 8 * MIB;
const PART_SIZE = 8 * MIB;
const PARALLEL_PARTS = 4;

type S3Destination = Extract<Destination, { kind: 's3' }>;
type Sdk = typeof import('./s3-sdk.ts');

export async function s3Sender(destination: S3Destination, env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<Sender> {
  const { settings, problems } = readS3Settings(env);
  const sdk = await import('./s3-sdk.ts');
  const client = new sdk.S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    followRegionRedirects: true,
    // The SDK pools keep-alive connections by default; only the TLS check needs an agent of ours.
    ...(settings.verifyTls ? {} : { requestHandler: { httpsAgent: new https.Agent({ keepAlive: true, rejectUnauthorized: false }) } }),
  });
  const send = async (file: ArtifactFile, size: number, onBytes: (delta: number) => void): Promise<number> => {
    const key = [destination.prefix, file.artifactPath].filter(Boolean).join('/');
    const object = { ...settings.extraParams, Bucket: destination.bucket, Key: key };
    try {
      if (size < MULTIPART_THRESHOLD) {
        // Whole in memory: the SDK can send a buffer again on a retry, not a stream it consumed.
        const body = await fs.readFile(file.localPath);
        await client.send(new sdk.PutObjectCommand({ ...object, Body: body, ContentLength: body.length }), { abortSignal: signal });
        return body.length;
      }
      await uploadInParts(sdk, client, { ...object, Body: createReadStream(file.localPath), ContentLength: size }, signal, onBytes);
      return size;
    } catch (error) {
      throw s3Error(sdk, error, `S3 upload to s3://${destination.bucket}/${key}`, settings);
    }
  };
  // Whoever cut the upload off, the run's location holds nothing else being uploaded now.
  const abortCutOff = async (): Promise<string[]> => {
    const problems: string[] = [];
    const prefix = destination.prefix ? `${destination.prefix}/` : '';
    try {
      const listed = await client.send(new sdk.ListMultipartUploadsCommand({ Bucket: destination.bucket, Prefix: prefix }), { abortSignal: signal });
      for (const { Key, UploadId } of listed.Uploads ?? []) {
        await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: destination.bucket, Key, UploadId }), { abortSignal: signal }).catch((error: unknown) => {
          problems.push(describeError(s3Error(sdk, error, `aborting the unfinished upload of s3://${destination.bucket}/${Key}`, settings)));
        });
      }
    } catch (error) {
      problems.push(describeError(s3Error(sdk, error, `listing the unfinished uploads in s3://${destination.bucket}/${prefix}`, settings)));
    }
    return problems;
  };
  return { send, problems, abortCutOff, close: async () => client.destroy() };
}

async function uploadInParts(
  sdk: Sdk,
  client: S3Client,
  params: PutObjectCommandInput & { ContentLength: number },
  signal: AbortSignal | undefined,
  onBytes: (delta: number) => void,
): Promise<void> {
  const partSize = partLayout(params.ContentLength, PART_SIZE).chunkSize;
  const upload = new sdk.Upload({ client, params, partSize, queueSize: PARALLEL_PARTS, leavePartsOnError: false });
  let reported = 0;
  upload.on('httpUploadProgress', ({ loaded }) => {
    if (loaded === undefined || loaded <= reported) return;
    onBytes(loaded - reported);
    reported = loaded;
  });
  const stop = () => void upload.abort();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await upload.done();
  } catch (error) {
    // Stopped from outside, done() gives up at once and leaves aborting the upload to parts still
    // in flight, which mlrun may not live to see: it is aborted here, within a time of its own.
    if (signal?.aborted && upload.uploadId) {
      const abort = new sdk.AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: upload.uploadId });
      await client.send(abort, { abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS) }).catch(() => undefined);
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * The SDK's failure as upload.ts weighs a store's: no answer, or no such bucket, is the whole
 * store's (`unreachable`, so the files wait for `mlrun sync`); missing credentials count as a 401;
 * an S3 answer keeps its status. Anything else (the file unreadable) is thrown as it is.
 */
function s3Error(sdk: Sdk, error: unknown, action: string, settings: S3Settings): unknown {
  if (!(error instanceof Error)) return error;
  const attempted = `${action}${settings.endpoint ? ` at ${redactUri(settings.endpoint)}` : ''} failed`;
  if (error instanceof sdk.S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    const why = `${error.name}${error.message && error.message !== error.name ? `: ${error.message}` : ''}`;
    return new TrackingError(`${attempted}: ${why}`, error.name, { httpStatus: status, unreachable: error.name === 'NoSuchBucket', cause: error });
  }
  if (error.name === 'CredentialsProviderError') {
    return new TrackingError(`${attempted}: no AWS credentials found (environment, shared profile or instance role)`, 'UNAUTHENTICATED', { httpStatus: 401, cause: error });
  }
  if (isRetriedNetworkError(error) || error.name === 'TimeoutError') {
    return new TrackingError(`${attempted}: cannot reach the store (${describeNetworkError(error)})`, 'TEMPORARILY_UNAVAILABLE', { unreachable: true, cause: error });
  }
  return error;
}
