// An upload as a command runs it: a progress line while a person watches the terminal, and given
// up only after a while without a byte going through (a slow server is waited for, a dead one
// is not).
import { progressLine } from './progress.ts';
import { uploadArtifacts, type UploadRequest, type UploadResult } from './upload.ts';

const UPLOAD_IDLE_MS = 30_000;

export interface WatchOptions {
  /** Draw the progress line (when stderr is a terminal); off while another program writes there. */
  showProgress?: boolean;
  /** Give up at once when this aborts. */
  hurry?: AbortSignal;
}

export async function uploadWatched(request: Omit<UploadRequest, 'signal' | 'onProgress'>, options: WatchOptions = {}): Promise<UploadResult> {
  const idle = new AbortController();
  // Re-armed from the last progress when it fires rather than reset by each: many small files
  // report thousands of times a second, and a timer reset per file cost more than its copy's
  // bookkeeping.
  let lastProgress = Date.now();
  const checkIdle = () => {
    const quiet = Date.now() - lastProgress;
    if (quiet >= UPLOAD_IDLE_MS) idle.abort();
    else timer = setTimeout(checkIdle, UPLOAD_IDLE_MS - quiet);
  };
  let timer = setTimeout(checkIdle, UPLOAD_IDLE_MS);
  const line = options.showProgress !== false ? progressLine(process.stderr) : undefined;
  try {
    return await uploadArtifacts({
      ...request,
      signal: options.hurry ? AbortSignal.any([idle.signal, options.hurry]) : idle.signal,
      onProgress: (progress) => {
        lastProgress = Date.now();
        line?.update(progress);
      },
    });
  } finally {
    clearTimeout(timer);
    line?.end();
  }
}
