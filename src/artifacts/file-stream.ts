// Request bodies read from disk as they are sent, so a file of any size costs a few buffers of
// memory. Each attempt of a retried request opens the file afresh.
import fs from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';

// Memory does not grow with the file, but read buffers already sent linger until V8 collects them
// (it waits for tens of MB of such external memory): 256 KiB reads kept that peak lowest in
// measurements (50 and 200 MB files), at full speed.
const READ_CHUNK_BYTES = 256 * 1024;

export interface ByteRange {
  start: number;
  /** inclusive, as fs.createReadStream takes it */
  end: number;
}

/**
 * A body factory for `localPath` (or a range of it) that reports each chunk read to `onBytes`;
 * a new attempt first takes back, as a negative delta, what the previous attempt had reported.
 */
export function fileBody(localPath: string, onBytes: (delta: number) => void, range?: ByteRange): () => Readable {
  let counted = 0;
  return () => {
    if (counted) onBytes(-counted);
    counted = 0;
    const source = fs.createReadStream(localPath, { highWaterMark: READ_CHUNK_BYTES, ...range });
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        counted += chunk.length;
        onBytes(chunk.length);
        done(null, chunk);
      },
    });
    // pipeline carries a read error to the body the HTTP client holds, and destroying that body
    // (an abandoned attempt) closes the file.
    return pipeline(source, counter, () => undefined);
  };
}
