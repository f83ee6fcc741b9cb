// PUTs files from disk over the one HTTP client (http/client.ts: the tracking client's settings,
// credentials, errors and retries). Each attempt reads the file into two buffers it reuses, one
// filled while the socket sends the other: a file of any size costs two buffers and makes no
// garbage, and a small file costs a few syscalls instead of a stream pipeline.
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { HttpClient } from '../http/client.ts';

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

interface Body {
  file: fs.FileHandle;
  offset: number;
  length: number;
  onBytes: (delta: number) => void;
}

/** A file that cannot be opened throws its own error, before anything is sent. */
export async function putFile(client: HttpClient, put: FilePut): Promise<FilePutResult> {
  const file = await fs.open(put.localPath, 'r');
  try {
    const offset = put.range?.offset ?? 0;
    const length = put.range?.length ?? (await file.stat()).size;
    let reported = 0;
    const onBytes = (delta: number) => {
      reported += delta;
      put.onBytes(delta);
    };
    const answer = await client.send({
      method: 'PUT',
      target: put.target,
      headers: { 'Content-Type': 'application/octet-stream', ...put.headers, 'Content-Length': String(length) },
      body: (request) => sendBody(request, { file, offset, length, onBytes }),
      bodyBytes: length,
      signal: put.signal,
      onRetry: () => {
        if (reported) onBytes(-reported);
      },
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers[name] = String(value);
    return { bytes: length, headers };
  } finally {
    await file.close();
  }
}

/**
 * Reads the next chunk into one buffer while the socket takes the other; a buffer is refilled only
 * once its write completed. Throws only when the file cannot be read: a write the connection did
 * not take (reset, closed, an answer such as 413 that came before the whole body) just ends the
 * body, and the request reports what happened through its own 'error' or 'response'.
 */
async function sendBody(request: http.ClientRequest, body: Body): Promise<void> {
  const { file, offset, length } = body;
  const size = Math.min(CHUNK_BYTES, length);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let writing: { taken: Promise<boolean>; bytes: number } | undefined;
  for (let sent = 0, turn = 0; sent < length; turn++) {
    const buffer = buffers[turn % 2]!;
    const { bytesRead } = await file.read(buffer, 0, Math.min(size, length - sent), offset + sent);
    if (bytesRead === 0) throw new Error(`the file ended ${length - sent} bytes early: it changed while being sent`);
    if (writing && !(await written(writing, body))) return;
    writing = { taken: writeChunk(request, buffer.subarray(0, bytesRead)), bytes: bytesRead };
    sent += bytesRead;
  }
  if (writing && !(await written(writing, body))) return;
  request.end();
}

async function written(writing: { taken: Promise<boolean>; bytes: number }, body: Body): Promise<boolean> {
  const taken = await writing.taken;
  if (taken) body.onBytes(writing.bytes);
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
