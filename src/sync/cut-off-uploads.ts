// What `mlrun sync` does for uploads their mlrun was killed in the middle of (listed in
// `.mlrun/uploads/`, artifacts/upload-listing.ts): the multipart uploads they left in the store
// are aborted, so no part stays stored and billed, and their files are sent again into the run's
// artifact location, so the run has its artifacts: those still as they were, since a later stage
// may have written a file anew, and its bytes are not the run's. A listing stays until that succeeds.
import fs from 'node:fs';
import { unchanged, uploadListings, type UploadListing } from '../artifacts/upload-listing.ts';
import { uploadWatched } from '../artifacts/watched-upload.ts';
import { processState } from '../process/process-identity.ts';
import { plural, type Reporter } from '../report.ts';
import { sameServerKey } from '../tracking/redact.ts';
import type { SyncClosing } from './abandoned.ts';

/**
 * The listed uploads whose mlrun is gone (of another host's, only with `force`), of runs on the
 * server at `uri` (any server when undefined): another server's wait for a sync to it, and a
 * running mlrun's upload is still going.
 */
function cutOffUploads(projectRoot: string, uri: string | undefined, force: boolean): (UploadListing & { file: string })[] {
  const server = uri === undefined ? undefined : sameServerKey(uri);
  return uploadListings(projectRoot).filter((listing) => {
    if (server !== undefined && listing.server !== server) return false;
    const state = processState(listing.owner);
    return state === 'ended' || (state === 'elsewhere' && force);
  });
}

/** What `mlrun sync --dry-run` says of them: one line each; returns how many. */
export function listCutOffUploads(projectRoot: string, uri: string | undefined, force: boolean, reporter: Reporter): number {
  const listings = cutOffUploads(projectRoot, uri, force);
  for (const listing of listings) {
    reporter.say(`pending upload of run ${listing.runId}, cut off when its mlrun was killed: ${plural(listing.files.length, 'file')}`);
  }
  return listings.length;
}

/** Finishes the cut-off uploads of runs on the server at `uri`; returns how many are left unfinished. */
export async function finishCutOffUploads(uri: string, closing: SyncClosing): Promise<number> {
  let left = 0;
  for (const listing of cutOffUploads(closing.projectRoot, uri, closing.force)) {
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
