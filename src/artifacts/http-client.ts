// What uploads need over HTTP: the tracking REST client's JSON POSTs to the artifacts service,
// and files PUT from disk (to it, or to a presigned storage URL, which gets no MLflow credentials).
import type { RestClient } from '../tracking/rest/client.ts';
import { TrackingError } from '../tracking/errors.ts';
import type { FilePut, FilePutResult } from './file-put.ts';

export interface ArtifactHttp {
  post: RestClient['post'];
  putFile: (put: FilePut) => Promise<FilePutResult>;
}

/**
 * The server has no multipart upload for this store: 501 from a store without it (a local
 * `mlartifacts`), or a 404 page from a server older than the endpoint. Either way nothing was
 * created, so a plain PUT is the safe fallback.
 */
export function isMultipartUnsupported(error: unknown): boolean {
  if (!(error instanceof TrackingError)) return false;
  return error.httpStatus === 501 || (error.httpStatus === 404 && error.errorCode === 'ENDPOINT_NOT_FOUND');
}
