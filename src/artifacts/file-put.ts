// PUTs files from disk with node:http(s), with the tracking client's settings, credentials, errors
// and retries (src/tracking/rest). Each attempt reads the file into two buffers it reuses, one
// filled while the socket sends the other: a file of any size costs two buffers and makes no
// garbage, and a small file costs a few syscalls instead of a stream pipeline.
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { TrackingError } from '../tracking/errors.ts';
import { redactSecrets, redactUri } from '../tracking/redact.ts';
import { readClientConfig, type ClientConfig } from '../tracking/rest/config.ts';
import { abortedError, describeNetworkError, httpError, isTlsError, networkError, type Attempted } from '../tracking/rest/errors.ts';
import { delaySeconds, isRetriedStatus, retryAfterSeconds, wait } from '../tracking/rest/retry.ts';
import { VERSION } from '../version.ts';

// On a 2 GB PUT, 1 MiB chunks took half the CPU of 256 KiB ones.
const CHUNK_BYTES = 1024 * 1024;

// The tracking client's: failures where no answer came and another attempt may get one.
const RETRIED_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const WORKSPACE_HEADER = 'X-MLFLOW-WORKSPACE';

export interface FilePut {
  /** an endpoint path on the server, or an absolute URL (one elsewhere, e.g. presigned, gets no credentials) */
  target: string;
  localPath: string;
  /** a part of the file; the whole file when absent */
  range?: { offset: number; length: number };
  headers?: Record<string, string>;
  signal: AbortSignal | undefined;
  /** bytes the socket took; a new attempt first takes back, as a negative delta, what the last one reported */
  onBytes: (delta: number) => void;
}

export interface FilePutResult {
  bytes: number;
  /** names lower-cased (an S3 part's ETag is here) */
  headers: Record<string, string>;
}

interface Answer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Attempt {
  url: URL;
  headers: Record<string, string>;
  file: fs.FileHandle;
  offset: number;
  length: number;
  signal: AbortSignal | undefined;
  onBytes: (delta: number) => void;
}

type Outcome = { answer: Answer } | { failure: unknown } | { bodyFailure: unknown };

export class FileUploader {
  readonly #config: ClientConfig;
  readonly #base: string;
  readonly #origin: string;
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent: https.Agent;

  /** @throws TrackingError INVALID_PARAMETER_VALUE when an MLFLOW_* setting is wrong. */
  constructor(serviceUri: string, env: NodeJS.ProcessEnv) {
    this.#config = readClientConfig(serviceUri, env);
    const url = new URL(serviceUri);
    this.#origin = url.origin;
    this.#base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    const { tls } = this.#config;
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.clientPem ? { cert: tls.clientPem, key: tls.clientPem } : {}),
    });
  }

  /** A file that cannot be opened throws its own error, before anything is sent. */
  async put(put: FilePut): Promise<FilePutResult> {
    const url = new URL(/^https?:\/\//i.test(put.target) ? put.target : `${this.#base}/${put.target.replace(/^\/+/, '')}`);
    const file = await fs.open(put.localPath, 'r');
    try {
      const offset = put.range?.offset ?? 0;
      const length = put.range?.length ?? (await file.stat()).size;
      const headers = { ...this.#headers(url), 'Content-Type': 'application/octet-stream', ...put.headers, 'Content-Length': String(length) };
      const answer = await this.#send({ url, headers, file, offset, length, signal: put.signal, onBytes: put.onBytes });
      const answerHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) answerHeaders[name] = String(value);
      return { bytes: length, headers: answerHeaders };
    } finally {
      await file.close();
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /** The attempt loop, as the tracking client's: transient failures retried with backoff until an answer, the limit, or abort. */
  async #send(request: Attempt): Promise<Answer> {
    const { retry } = this.#config;
    const { signal } = request;
    let lastFailure: string | undefined;
    let reported = 0;
    const onBytes = (delta: number) => {
      reported += delta;
      request.onBytes(delta);
    };
    for (let attempt = 1; ; attempt++) {
      const at = this.#attempted(request.url, attempt);
      if (reported) onBytes(-reported);
      const outcome = await this.#attempt({ ...request, onBytes });
      if (signal?.aborted) throw abortedError(lastFailure, at, signal.reason);
      if ('bodyFailure' in outcome) throw bodyError(outcome.bodyFailure, at);
      if ('failure' in outcome) {
        const cause = sanitized(outcome.failure, at.scrub);
        if (!isRetriedNetworkError(outcome.failure) || attempt > retry.maxRetries) throw networkError(cause, at);
        lastFailure = describeNetworkError(cause);
        await pause(delaySeconds(attempt, retry, undefined), signal, lastFailure, at);
        continue;
      }
      const { answer } = outcome;
      if (answer.status >= 200 && answer.status < 300) return answer;
      const retryAfter = retryAfterSeconds(headerText(answer.headers['retry-after']));
      if (attempt <= retry.maxRetries && isRetriedStatus(answer.status, retryAfter !== undefined, retry)) {
        lastFailure = `HTTP ${answer.status}`;
        await pause(delaySeconds(attempt, retry, retryAfter), signal, lastFailure, at);
        continue;
      }
      throw httpError(answer.status, answer.statusText, answer.body, at);
    }
  }

  /** One attempt; never rejects. */
  #attempt(attempt: Attempt): Promise<Outcome> {
    return new Promise((resolve) => {
      let bodyFailure: unknown;
      const request = (attempt.url.protocol === 'https:' ? https : http).request(attempt.url, {
        method: 'PUT',
        headers: attempt.headers,
        agent: attempt.url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent,
        signal: attempt.signal,
        timeout: this.#config.timeoutMs,
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      request.on('error', (failure) => resolve(bodyFailure === undefined ? { failure } : { bodyFailure }));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (failure) => resolve({ failure }));
        response.on('end', () => {
          resolve({
            answer: { status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers: response.headers, body: Buffer.concat(chunks).toString('utf8') },
          });
          // An answer before the whole body went (a refusal): the connection cannot carry another request.
          if (!request.writableFinished) request.destroy();
        });
      });
      sendBody(request, attempt).catch((error: unknown) => {
        if (request.destroyed) return;
        bodyFailure = error;
        request.destroy(error as Error);
      });
    });
  }

  #headers(url: URL): Record<string, string> {
    const headers: Record<string, string> = { 'User-Agent': `mlrun/${VERSION}`, Accept: 'application/json' };
    if (url.origin !== this.#origin) return headers;
    if (this.#config.authorization) headers.Authorization = this.#config.authorization;
    if (this.#config.workspace) headers[WORKSPACE_HEADER] = this.#config.workspace;
    return headers;
  }

  #attempted(url: URL, attempts: number): Attempted {
    return {
      request: `PUT ${redactUri(`${url.origin}${url.pathname}`)}`,
      attempts,
      scrub: (text) => redactSecrets(text, this.#config.secrets),
    };
  }
}

/** Reads the next chunk into one buffer while the socket takes the other; a buffer is refilled only once its write completed. */
async function sendBody(request: http.ClientRequest, attempt: Attempt): Promise<void> {
  const { file, offset, length } = attempt;
  const size = Math.min(CHUNK_BYTES, length);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let written: Promise<void> = Promise.resolve();
  for (let sent = 0, turn = 0; sent < length; turn++) {
    const buffer = buffers[turn % 2]!;
    const { bytesRead } = await file.read(buffer, 0, Math.min(size, length - sent), offset + sent);
    if (bytesRead === 0) throw new Error(`the file ended ${length - sent} bytes early: it changed while being sent`);
    await written;
    written = writeChunk(request, buffer.subarray(0, bytesRead)).then(() => attempt.onBytes(bytesRead));
    sent += bytesRead;
  }
  await written;
  request.end();
}

function writeChunk(request: http.ClientRequest, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = () => reject(new Error('the request closed'));
    request.once('close', closed);
    request.write(chunk, (error) => {
      request.off('close', closed);
      if (error) reject(error);
      else resolve();
    });
  });
}

async function pause(seconds: number, signal: AbortSignal | undefined, lastFailure: string, at: Attempted): Promise<void> {
  try {
    await wait(seconds, signal);
  } catch (error) {
    throw abortedError(lastFailure, at, signal?.reason ?? error);
  }
}

function isRetriedNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || isTlsError(error)) return false;
  return RETRIED_NETWORK_CODES.has(code) || code.startsWith('HPE_');
}

function sanitized(error: unknown, scrub: (text: string) => string): Error {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return Object.assign(new Error(scrub(String(message ?? error))), typeof code === 'string' ? { code } : {});
}

function bodyError(error: unknown, at: Attempted): TrackingError {
  const message = (error as { message?: unknown }).message ?? error;
  return new TrackingError(at.scrub(`${at.request} failed: cannot read the body to send (${String(message)})`), 'INTERNAL_ERROR', {
    cause: sanitized(error, at.scrub),
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
