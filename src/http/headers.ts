// The headers every request to the tracking server carries, as the Python client sends them.
import { VERSION } from '../version.ts';
import type { ClientConfig } from './config.ts';

const WORKSPACE_HEADER = 'X-MLFLOW-WORKSPACE';

/**
 * `target` is an endpoint path or an absolute URL. Credentials and the workspace go only to the
 * server's own origin (`serverOrigin`), so a presigned URL elsewhere gets none.
 */
export function requestHeaders(config: ClientConfig, serverOrigin: string, target: string, withWorkspace = true): Record<string, string> {
  const headers: Record<string, string> = { 'User-Agent': `mlrun/${VERSION}`, Accept: 'application/json' };
  if (!isOwnOrigin(target, serverOrigin)) return headers;
  if (config.authorization) headers.Authorization = config.authorization;
  if (config.workspace && withWorkspace) headers[WORKSPACE_HEADER] = config.workspace;
  return headers;
}

function isOwnOrigin(target: string, serverOrigin: string): boolean {
  if (!/^https?:\/\//i.test(target)) return true;
  try {
    return new URL(target).origin === serverOrigin;
  } catch {
    return false;
  }
}
