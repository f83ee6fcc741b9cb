// PUTs files from disk with node:http(s), with the tracking client's settings, credentials, errors
// and retries (src/tracking/rest). Each attempt reads the file into two buffers it reuses, one
// filled while the socket sends the other: a file of any size costs two buffers and makes no
// garbage, and a small file costs a few syscalls instead of a stream pipeline.
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { redactSecrets, redactUri } from '../tracking/redact.ts';
import { destroyAgents, keepAliveAgents, type Agents } from '../tracking/rest/agents.ts';
import { readClientConfig, type ClientConfig } from '../tracking/rest/config.ts';
import type { Attempted } from '../tracking/rest/errors.ts';
import { requestHeaders } from '../tracking/rest/headers.ts';
import { withRetries, type Answer, type Outcome } from '../tracking/rest/retry.ts';

// On a 2 GB PUT, 1 MiB chunks took half the CPU of 256 KiB ones.
const CHUNK_BYTES = 1024 * 1024;

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

interface FileAnswer extends Answer {
  headers: http.IncomingHttpHeaders;
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

export class FileUploader {
  readonly #config: ClientConfig;
  readonly #base: string;
  readonly #origin: string;
  readonly #agents: Agents;

  /** @throws TrackingError INVALID_PARAMETER_VALUE when an MLFLOW_* setting is wrong. */
  constructor(serviceUri: string, env: NodeJS.ProcessEnv) {
    this.#config = readClientConfig(serviceUri, env);
    const url = new URL(serviceUri);
    this.#origin = url.origin;
    this.#base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#agents = keepAliveAgents(this.#config.tls);
  }

  /** A file that cannot be opened throws its own error, before anything is sent. */
  async put(put: FilePut): Promise<FilePutResult> {
    const url = new URL(/^https?:\/\//i.test(put.target) ? put.target : `${this.#base}/${put.target.replace(/^\/+/, '')}`);
    const file = await fs.open(put.localPath, 'r');
    try {
      const offset = put.range?.offset ?? 0;
      const length = put.range?.length ?? (await file.stat()).size;
      const headers = { ...requestHeaders(this.#config, this.#origin, url.href), 'Content-Type': 'application/octet-stream', ...put.headers, 'Content-Length': String(length) };
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
    destroyAgents(this.#agents);
  }

  /** Retried as the tracking client's requests are; each attempt first takes back the progress the last one reported. */
  #send(request: Attempt): Promise<FileAnswer> {
    let reported = 0;
    const onBytes = (delta: number) => {
      reported += delta;
      request.onBytes(delta);
    };
    const attempted = (attempts: number) => this.#attempted(request.url, attempts, request.length);
    return withRetries(this.#config.retry, request.signal, attempted, () => {
      if (reported) onBytes(-reported);
      return this.#attempt({ ...request, onBytes });
    });
  }

  /** One attempt; never rejects. */
  #attempt(attempt: Attempt): Promise<Outcome<FileAnswer>> {
    return new Promise((resolve) => {
      let bodyFailure: unknown;
      const request = (attempt.url.protocol === 'https:' ? https : http).request(attempt.url, {
        method: 'PUT',
        headers: attempt.headers,
        agent: attempt.url.protocol === 'https:' ? this.#agents.https : this.#agents.http,
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
            answer: {
              status: response.statusCode ?? 0,
              statusText: response.statusMessage ?? '',
              retryAfter: headerText(response.headers['retry-after']),
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            },
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

  #attempted(url: URL, attempts: number, bodyBytes: number): Attempted {
    return {
      request: `PUT ${redactUri(`${url.origin}${url.pathname}`)}`,
      attempts,
      scrub: (text) => redactSecrets(text, this.#config.secrets),
      bodyBytes,
    };
  }
}

/**
 * Reads the next chunk into one buffer while the socket takes the other; a buffer is refilled only
 * once its write completed. Throws only when the file cannot be read: a write the connection did
 * not take (reset, closed, an answer such as 413 that came before the whole body) just ends the
 * body, and the request reports what happened through its own 'error' or 'response'.
 */
async function sendBody(request: http.ClientRequest, attempt: Attempt): Promise<void> {
  const { file, offset, length } = attempt;
  const size = Math.min(CHUNK_BYTES, length);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let writing: { taken: Promise<boolean>; bytes: number } | undefined;
  for (let sent = 0, turn = 0; sent < length; turn++) {
    const buffer = buffers[turn % 2]!;
    const { bytesRead } = await file.read(buffer, 0, Math.min(size, length - sent), offset + sent);
    if (bytesRead === 0) throw new Error(`the file ended ${length - sent} bytes early: it changed while being sent`);
    if (writing && !(await written(writing, attempt))) return;
    writing = { taken: writeChunk(request, buffer.subarray(0, bytesRead)), bytes: bytesRead };
    sent += bytesRead;
  }
  if (writing && !(await written(writing, attempt))) return;
  request.end();
}

async function written(writing: { taken: Promise<boolean>; bytes: number }, attempt: Attempt): Promise<boolean> {
  const taken = await writing.taken;
  if (taken) attempt.onBytes(writing.bytes);
  return taken;
}

/**
 * True once the socket took the chunk, false when the request failed or closed first. Never
 * rejects: it runs unobserved while the next chunk is read, and a rejection nobody waits for yet
 * would end the process.
 */
function writeChunk(request: http.ClientRequest, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const closed = () => resolve(false);
    request.once('close', closed);
    request.write(chunk, (error) => {
      request.off('close', closed);
      resolve(!error);
    });
  });
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
