// An upload to a server or S3 is listed in `.mlrun/uploads/<run id>-<pid>-<n>.json` at the project root
// while it runs: the run, its artifact location, the files, the mlrun that sends them, and the
// multipart uploads the server created for it. mlrun removes the listing when the upload ends,
// whatever its outcome (files it could not send go to the offline record). A listing left behind
// names an upload cut off by SIGKILL, an OOM killer or a reboot: parts stored in S3 that nothing
// will complete or free, and files missing from the run. `mlrun sync` aborts those multipart
// uploads and sends the files again (sync/unfinished-uploads.ts).
//
// The server is named without credentials (sameServerKey): whoever finishes the upload reaches it
// with the MLflow settings of its own environment.
import fs from 'node:fs';
import path from 'node:path';
import { thisProcess, type ProcessIdentity } from '../process/process-identity.ts';
import { stateFolder } from '../settings/private-folders.ts';
import { readEntries, writeEntry } from '../settings/state-entries.ts';
import type { ArtifactFile } from './collect.ts';

/** A multipart upload the server created (proxied artifacts), by the id it gave. */
export interface LeftoverUpload {
  artifactPath: string;
  uploadId: string;
}

/** A file as it was when the upload began: sent again only if it is still the same. */
export interface ListedFile extends ArtifactFile {
  size: number;
  mtimeMs: number;
}

export interface UploadListing {
  runId: string;
  artifactUri: string;
  /** the store the run is in: its tracking URI as sameServerKey gives it */
  server: string;
  owner: ProcessIdentity;
  files: ListedFile[];
  multipart: LeftoverUpload[];
}

/** Where an upload of a run is listed: given by the caller, which knows the project. */
export interface ListingPlace {
  projectRoot: string;
  runId: string;
  server: string;
}

export interface ListedUpload {
  /** Adds a multipart upload the server just created. */
  addMultipart(upload: LeftoverUpload): void;
  /** The upload ended: the listing goes. */
  remove(): void;
}

/** Uploads of one run may overlap (its outputs, its git diff): each has its own listing. */
let listed = 0;

function uploadsFolder(projectRoot: string): string {
  return path.join(projectRoot, '.mlrun', 'uploads');
}

/**
 * Lists the upload of `files` to `artifactUri` as this process's, until `remove`. Undefined when
 * the listing cannot be written (a read-only project): the upload goes on, unlisted, as it did
 * before listings existed. Writing it again later is best effort for the same reason.
 */
export function listUpload(place: ListingPlace, artifactUri: string, files: readonly ArtifactFile[]): ListedUpload | undefined {
  let file: string;
  let listing: UploadListing;
  try {
    stateFolder(place.projectRoot);
    const folder = uploadsFolder(place.projectRoot);
    fs.mkdirSync(folder, { recursive: true });
    file = path.join(folder, `${place.runId}-${process.pid}-${listed++}.json`);
    listing = {
      runId: place.runId,
      artifactUri,
      server: place.server,
      owner: thisProcess(),
      files: files.flatMap(({ localPath, artifactPath }) => {
        const stat = fs.statSync(localPath, { throwIfNoEntry: false });
        // A file gone already fails its upload: there is nothing to send again.
        return stat ? [{ localPath: path.resolve(localPath), artifactPath, size: stat.size, mtimeMs: stat.mtimeMs }] : [];
      }),
      multipart: [],
    };
    writeEntry(file, listing);
  } catch {
    return undefined;
  }
  return {
    addMultipart(upload) {
      listing.multipart.push(upload);
      try {
        writeEntry(file, listing);
      } catch {
        // Then sync cannot abort this one: the store's lifecycle rules for unfinished uploads clear it.
      }
    },
    remove() {
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // Left behind: sync sends the files again into the run, which changes nothing.
      }
    },
  };
}

/** Whether the file is still as it was listed: a later stage may have written it anew. */
export function unchanged(file: ListedFile): boolean {
  const stat = fs.statSync(file.localPath, { throwIfNoEntry: false });
  return stat !== undefined && stat.size === file.size && stat.mtimeMs === file.mtimeMs;
}

/** Every listing in the project, with its file. */
export function uploadListings(projectRoot: string): (UploadListing & { file: string })[] {
  return readEntries<UploadListing>(uploadsFolder(projectRoot)).map(({ entry, file }) => ({ ...entry, file }));
}
