// What `mlrun sync` does for uploads their mlrun was killed in the middle of (listed in
// `.mlrun/uploads/`, artifacts/upload-listing.ts): the multipart uploads they left in the store
// are aborted, so no part stays stored and billed, and their files are sent again into the run's
// artifact location, so the run has its artifacts: those still as they were, since a later stage
// may have written a file anew, and its bytes are not the run's. A listing stays until that succeeds.
import fs from 'node:fs';
import { unchanged, uploadListings } from '../artifacts/upload-listing.ts';
import { uploadWatched } from '../artifacts/watched-upload.ts';
import { processState } from '../process/process-identity.ts';
import { plural } from '../report.ts';
import { sameServerKey } from '../tracking/redact.ts';
import type { SyncClosing } from './abandoned.ts';

/** Finishes the cut-off uploads of runs on the server at `uri`; returns how many are left unfinished. */
export async function finishCutOffUploads(uri: string, closing: SyncClosing): Promise<number> {
  const server = sameServerKey(uri);
  let left = 0;
  for (const listing of uploadListings(closing.projectRoot)) {
    // Another server's runs wait for a sync to it; a running mlrun's upload is still going.
    if (listing.server !== server) continue;
    const state = processState(listing.owner);
    if (state === 'running' || (state === 'elsewhere' && !closing.force)) continue;
    const files = listing.files.filter(unchanged);
    const result = await uploadWatched({ artifactUri: listing.artifactUri, trackingUri: uri, env: closing.env, files, cutOff: listing.multipart }, { showProgress: false });
    const failures = [...result.failures, ...result.pendingFailures];
    for (const failure of failures) closing.reporter.warn(`run ${listing.runId}: ${failure}`);
    if (failures.length > 0) {
      left += 1;
      continue;
    }
    fs.rmSync(listing.file, { force: true });
    const changed = listing.files.length - files.length;
    closing.reporter.say(
      `finished the upload its killed mlrun left for run ${listing.runId}: ${plural(result.uploaded, 'file')} sent${changed > 0 ? `, ${plural(changed, 'file')} changed or gone since, not sent` : ''}`,
    );
  }
  if (left > 0) closing.reporter.say(`${plural(left, 'upload')} of killed mlruns not finished yet: 'mlrun sync' tries again`);
  return left;
}
