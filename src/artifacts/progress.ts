// The upload's progress as one stderr line redrawn in place, only for a person watching a
// terminal: a pipe or a log file (DVC, CI) gets nothing, not even the final state. An upload over
// within about a second draws nothing either: a line drawn and erased at once is only a flash.
import { formatBytes } from '../report.ts';

export interface UploadProgress {
  /** finished files, uploaded or failed */
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface ProgressLine {
  update(progress: UploadProgress): void;
  /** Erases the line, leaving the cursor where it was before the first draw. */
  end(): void;
}

const REDRAW_MS = 100;
/** How long an upload runs before its line is first drawn. */
export const SHOW_AFTER_MS = 1000;

/** The upload starts when the line is made: `now` is read then, and at every update. */
export function progressLine(stream: NodeJS.WriteStream, now: () => number = Date.now): ProgressLine {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  const started = now();
  let drawnAt = -Infinity;
  let drawn = false;
  return {
    update(progress) {
      const time = now();
      if (time - started < SHOW_AFTER_MS) return;
      const finished = progress.filesDone === progress.filesTotal;
      if (!finished && time - drawnAt < REDRAW_MS) return;
      drawnAt = time;
      const text = describeProgress(progress, time - started);
      // A line wider than the terminal wraps, and `\r` would then redraw only its last row.
      const width = Math.max(10, (stream.columns || 80) - 1);
      stream.write(`\r${text.slice(0, width)}\x1b[K`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

export function describeProgress(progress: UploadProgress, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? `, ${formatBytes((progress.bytesDone * 1000) / elapsedMs)}/s` : '';
  return `mlrun: uploading artifacts ${progress.filesDone}/${progress.filesTotal} files, ${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}${rate}`;
}
