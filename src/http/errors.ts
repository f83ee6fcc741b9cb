// Turns HTTP answers and network failures into one-line TrackingErrors, as the Python client's
// `verify_rest_response` does: MLflow's JSON body when there is one, else a code from the status.
import { formatBytes } from '../report.ts';
import { TrackingError } from '../tracking/errors.ts';

/** `HTTP_STATUS_TO_ERROR_CODE` in mlflow/exceptions.py; any other status is INTERNAL_ERROR. */
const HTTP_STATUS_TO_ERROR_CODE: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'ENDPOINT_NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL_ERROR',
  501: 'NOT_IMPLEMENTED',
  503: 'TEMPORARILY_UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

// A gateway's own error page means the request never reached MLflow: treat it like a refused
// connection, so callers fall back as they do when the server is down. (A 503 is left out: MLflow
// itself answers 503 in plain text, e.g. for artifacts on a --no-serve-artifacts server.)
const GATEWAY_STATUSES = new Set([502, 504]);

// Failures where no answer came and another attempt may get one (urllib3's connect and read errors).
const RETRIED_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const MAX_DETAIL_CHARS = 1000;

export function errorCodeForStatus(status: number): string {
  return HTTP_STATUS_TO_ERROR_CODE[status] ?? 'INTERNAL_ERROR';
}

export interface Attempted {
  /** e.g. `POST http://host:5000/api/2.0/mlflow/runs/create`, already redacted */
  request: string;
  attempts: number;
  scrub: (text: string) => string;
  /** bytes of the request's body, when it has one */
  bodyBytes?: number;
}

/** The error for a non-2xx answer whose body is `body`. */
export function httpError(status: number, statusText: string, body: string, at: Attempted): TrackingError {
  if (status === HTTP_TOO_LARGE) return tooLargeError(statusText, at);
  const mlflow = parseMlflowError(body);
  const code = mlflow?.error_code ?? errorCodeForStatus(status);
  const detail = mlflow ? mlflow.message : describeBody(body, statusText);
  const message = oneLine(at.scrub(`${at.request} failed with HTTP ${status} ${code}${after(at.attempts)}: ${detail}`));
  return new TrackingError(message, code, { httpStatus: status, unreachable: !mlflow && GATEWAY_STATUSES.has(status) });
}

const HTTP_TOO_LARGE = 413;

/**
 * 413 comes from whatever limits bodies: MLflow's server has no limit of its own on an artifact
 * PUT, so it is mostly a proxy in front of it (nginx's client_max_body_size is 1 MB by default).
 * What it refused is the size, so the message says the size, and not the code MLflow's client
 * gives it (INTERNAL_ERROR: HTTP_STATUS_TO_ERROR_CODE has no 413), which would blame the server.
 */
function tooLargeError(statusText: string, at: Attempted): TrackingError {
  const size = at.bodyBytes === undefined ? 'the body' : `a body of ${describeSize(at.bodyBytes)}`;
  const message = oneLine(at.scrub(`${at.request} failed with HTTP 413${statusText ? ` ${statusText}` : ''}: the server or a proxy in front of it refuses ${size} as too large`));
  return new TrackingError(message, errorCodeForStatus(HTTP_TOO_LARGE), { httpStatus: HTTP_TOO_LARGE });
}

/** `8.4 MB (8388608 bytes)`: the short form to read, the exact one to compare with a limit. */
function describeSize(bytes: number): string {
  return bytes < 1000 ? `${bytes} bytes` : `${formatBytes(bytes)} (${bytes} bytes)`;
}

/** The error when no answer came: refused, reset, timed out, DNS, TLS. */
export function networkError(cause: unknown, at: Attempted): TrackingError {
  const message = oneLine(at.scrub(`${at.request} failed: cannot reach the server (${describeNetworkError(cause)})${after(at.attempts)}`));
  return new TrackingError(message, 'TEMPORARILY_UNAVAILABLE', { unreachable: true, cause });
}

/** The error when the caller's signal ended the call; `last` is the failure being retried, if any. */
export function abortedError(last: string | undefined, at: Attempted, cause: unknown): TrackingError {
  const why = last ? `; last failure: ${last}` : '';
  const message = oneLine(at.scrub(`${at.request} was abandoned: no answer in the time allowed${after(at.attempts)}${why}`));
  return new TrackingError(message, 'DEADLINE_EXCEEDED', { unreachable: true, cause });
}

export function describeNetworkError(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'EPIPE': return 'connection closed while sending';
    case 'ETIMEDOUT':
    case 'ECONNABORTED': return 'timed out waiting for the server (MLFLOW_HTTP_REQUEST_TIMEOUT)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': return 'no route to host';
  }
  if (isTlsError(cause)) {
    // Node appends advice about its own flags after a ';', which means nothing to an mlrun user.
    const reason = messageOf(cause).split(';')[0];
    return `TLS: ${reason} (${String(code)}); see MLFLOW_TRACKING_SERVER_CERT_PATH or MLFLOW_TRACKING_INSECURE_TLS`;
  }
  return typeof code === 'string' ? `${code}: ${messageOf(cause)}` : messageOf(cause);
}

/** The error when the body to send could not be read (a file gone or changed): not the network's, not retried. */
export function bodyError(error: unknown, at: Attempted): TrackingError {
  const message = (error as { message?: unknown }).message ?? error;
  return new TrackingError(at.scrub(`${at.request} failed: cannot read the body to send (${String(message)})`), 'INTERNAL_ERROR', {
    cause: sanitized(error, at.scrub),
  });
}

// An AxiosError carries the request config, Authorization header included: keep only what is safe
// to print before it becomes a TrackingError's cause.
export function sanitized(error: unknown, scrub: (text: string) => string): Error {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return Object.assign(new Error(scrub(String(message ?? error))), typeof code === 'string' ? { code } : {});
}

export function isRetriedNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || isTlsError(error)) return false;
  return RETRIED_NETWORK_CODES.has(code) || code.startsWith('HPE_');
}

/** Certificate and handshake failures: retrying them would only repeat the same answer. */
function isTlsError(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code);
}

function parseMlflowError(body: string): { error_code: string; message: string } | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { error_code?: unknown }).error_code === 'string') {
      const { error_code, message } = parsed as { error_code: string; message?: unknown };
      return { error_code, message: typeof message === 'string' ? message : '' };
    }
  } catch {
    // not JSON: a proxy's page or plain text
  }
  return undefined;
}

function describeBody(body: string, statusText: string): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1];
  const text = title ?? (/^\s*</.test(body) ? '' : body);
  const shown = text.trim() ? `'${text.trim()}'` : 'no MLflow error in the body';
  return `${statusText ? `${statusText}, ` : ''}${shown}`;
}

function after(attempts: number): string {
  return attempts > 1 ? ` after ${attempts} attempts` : '';
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL_CHARS ? `${flat.slice(0, MAX_DETAIL_CHARS - 1)}…` : flat;
}
