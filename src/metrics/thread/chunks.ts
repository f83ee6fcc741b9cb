// Reads a chunks message back into the chunks it holds, on whichever side matches them: the
// metrics thread, or the main thread when a short stage's output is matched there (handoff.ts).
import { readSync } from 'node:fs';
import type { OutputStream } from '../parse/stream.ts';
import { STREAMS, type ChunksMessage } from './protocol.ts';

export type ChunkHandler = (stream: OutputStream, chunk: Uint8Array, time: number) => void;

/** Reused for every read from the spill file: whoever takes a chunk copies what it keeps. */
let spillBuffer = Buffer.alloc(0);

/** Calls `take` with each chunk of the message, in order. */
export function forEachChunk(message: ChunksMessage, take: ChunkHandler): void {
  const data = message.type === 'chunks' ? message.data : readSpilled(message.fd, message.offset, message.length);
  let at = 0;
  for (let i = 0; i < message.parts.length; i += 3) {
    const length = message.parts[i + 1]!;
    take(STREAMS[message.parts[i]!]!, data.subarray(at, at + length), message.parts[i + 2]!);
    at += length;
  }
}

function readSpilled(fd: number, offset: number, length: number): Uint8Array {
  if (spillBuffer.length < length) spillBuffer = Buffer.allocUnsafeSlow(length);
  const data = spillBuffer.subarray(0, length);
  for (let read = 0; read < length; ) read += readSync(fd, data, read, length - read, offset + read);
  return data;
}
