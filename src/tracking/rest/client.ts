// The HTTP client for an MLflow tracking server, with the Python client's auth, TLS, headers and
// retries (mlflow/utils/rest_utils.py). Every call takes an AbortSignal that ends the request and
// any pending backoff at once: the caller bounds its wait whatever the retry settings say.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, type AxiosResponse, type RawAxiosRequestHeaders } from 'axios';
import { VERSION } from '../../version.ts';
import { TrackingError } from '../errors.ts';
import { redactSecrets, redactUri } from '../redact.ts';
import { readClientConfig, type ClientConfig } from './config.ts';
import { abortedError, describeNetworkError, httpError, isTlsError, networkError, type Attempted } from './errors.ts';
import { delaySeconds, isRetriedStatus, retryAfterSeconds, wait } from './retry.ts';

export type Json = Record<string, unknown>;
export type Query = Record<string, string | string[] | undefined>;

export interface PutResult {
  status: number;
  /** response headers, names lower-cased (an S3 part upload's ETag is here) */
  headers: Record<string, string>;
}

// Failures where no answer came and another attempt may get one (urllib3's connect and read errors).
const RETRIED_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const WORKSPACE_HEADER = 'X-MLFLOW-WORKSPACE';

interface Send {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  query?: Query;
  /** a fresh body for each attempt */
  body?: () => string | Readable;
  headers: RawAxiosRequestHeaders;
  /** Streamed bodies must not be buffered to replay them on a redirect. */
  followRedirects: boolean;
  signal: AbortSignal | undefined;
}

export class RestClient {
  /** The tracking URI without credentials or trailing slash; endpoints are appended to it. */
  readonly baseUrl: string;
  /** The tracking URI, fit to print. */
  readonly displayUri: string;
  readonly #config: ClientConfig;
  readonly #origin: string;
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  readonly #axios: AxiosInstance;

  /** @throws TrackingError INVALID_PARAMETER_VALUE when the URI or an MLFLOW_* setting is wrong. */
  constructor(uri: string, env: NodeJS.ProcessEnv) {
    const url = parseHttpUri(uri);
    this.#config = readClientConfig(uri, env);
    this.#origin = url.origin;
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.displayUri = redactUri(uri);
    const { tls, timeoutMs } = this.#config;
    this.#httpAgent = new http.Agent({ keepAlive: true });
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: tls.ca } : {}),
      // One .pem with the certificate and its key, as `requests` takes `cert=`: each option picks
      // its own PEM block out of it.
      ...(tls.clientPem ? { cert: tls.clientPem, key: tls.clientPem } : {}),
    });
    this.#axios = axios.create({
      adapter: 'http',
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
      timeout: timeoutMs,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  /** GET `endpoint` (e.g. `/api/2.0/mlflow/runs/get`) with the fields as query parameters. */
  async get(endpoint: string, query: Query, signal?: AbortSignal): Promise<Json> {
    const response = await this.#send({
      method: 'GET',
      url: this.#resolve(endpoint),
      query,
      headers: this.#headers(endpoint),
      followRedirects: true,
      signal,
    });
    return parseJsonBody(response, this.#attempted('GET', endpoint, 1));
  }

  /** Resolves once the server answers `/health` at all; throws like any call when it does not. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.#send({ method: 'GET', url: this.#resolve('/health'), headers: this.#headers('/health'), followRedirects: true, signal });
  }

  /** POST `body` as JSON; NaN and ±Infinity must already be encoded (see codec.ts). */
  async post(endpoint: string, body: unknown, signal?: AbortSignal): Promise<Json> {
    const text = JSON.stringify(body);
    const response = await this.#send({
      method: 'POST',
      url: this.#resolve(endpoint),
      body: () => text,
      headers: { ...this.#headers(endpoint), 'Content-Type': 'application/json' },
      followRedirects: true,
      signal,
    });
    return parseJsonBody(response, this.#attempted('POST', endpoint, 1));
  }

  /**
   * PUT a streamed body of `size` bytes to `target` (an endpoint path or an absolute URL). `open`
   * is called again for each attempt. Credentials go only to the tracking server's own origin, so
   * a presigned URL elsewhere gets none.
   */
  async putStream(
    target: string,
    open: () => Readable,
    size: number,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<PutResult> {
    const response = await this.#send({
      method: 'PUT',
      url: this.#resolve(target),
      body: open,
      headers: { ...this.#headers(target), 'Content-Type': 'application/octet-stream', ...extraHeaders, 'Content-Length': String(size) },
      followRedirects: false,
      signal,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
    }
    return { status: response.status, headers };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /** The attempt loop: retries transient failures with backoff until an answer, the limit, or abort. */
  async #send(request: Send): Promise<AxiosResponse<string>> {
    const { retry } = this.#config;
    let lastFailure: string | undefined;
    for (let attempt = 1; ; attempt++) {
      const at = this.#attempted(request.method, request.url, attempt);
      const outcome = await this.#attempt(request);
      if (request.signal?.aborted) throw abortedError(lastFailure, at, request.signal.reason);
      if ('bodyFailure' in outcome) throw bodyError(outcome.bodyFailure, at);
      if ('failure' in outcome) {
        const cause = sanitized(outcome.failure, at.scrub);
        if (!isRetriedNetworkError(outcome.failure) || attempt > retry.maxRetries) throw networkError(cause, at);
        lastFailure = describeNetworkError(cause);
        await this.#pause(delaySeconds(attempt, retry, undefined), request.signal, lastFailure, at);
        continue;
      }
      const { response } = outcome;
      if (response.status >= 200 && response.status < 300) return response;
      const retryAfter = retryAfterSeconds(headerValue(response, 'retry-after'));
      if (attempt <= retry.maxRetries && isRetriedStatus(response.status, retryAfter !== undefined, retry)) {
        lastFailure = `HTTP ${response.status}`;
        await this.#pause(delaySeconds(attempt, retry, retryAfter), request.signal, lastFailure, at);
        continue;
      }
      throw httpError(response.status, response.statusText, String(response.data ?? ''), at);
    }
  }

  /** One attempt. Never throws: a failure is either the network's or the body's (a file gone). */
  async #attempt(request: Send): Promise<{ response: AxiosResponse<string> } | { failure: unknown } | { bodyFailure: unknown }> {
    let body: string | Readable | undefined;
    let bodyFailure: unknown;
    try {
      try {
        body = request.body?.();
      } catch (error) {
        return { bodyFailure: error };
      }
      if (body && typeof body !== 'string') body.once('error', (error) => { bodyFailure = error; });
      const response = await this.#axios.request<string>({
        method: request.method,
        url: request.url,
        params: request.query,
        paramsSerializer: { indexes: null },
        data: body,
        headers: request.headers,
        maxRedirects: request.followRedirects ? 5 : 0,
        signal: request.signal,
      });
      return { response };
    } catch (failure) {
      return bodyFailure === undefined ? { failure } : { bodyFailure };
    } finally {
      // A failed attempt leaves its stream half read; the next attempt opens a new one.
      if (body && typeof body !== 'string') body.destroy();
    }
  }

  async #pause(seconds: number, signal: AbortSignal | undefined, lastFailure: string, at: Attempted): Promise<void> {
    try {
      await wait(seconds, signal);
    } catch (error) {
      throw abortedError(lastFailure, at, signal?.reason ?? error);
    }
  }

  #resolve(target: string): string {
    return /^https?:\/\//i.test(target) ? target : `${this.baseUrl}${target.startsWith('/') ? '' : '/'}${target}`;
  }

  #headers(target: string): RawAxiosRequestHeaders {
    const headers: RawAxiosRequestHeaders = { 'User-Agent': `mlrun/${VERSION}`, Accept: 'application/json' };
    if (!this.#isOwnOrigin(target)) return headers;
    if (this.#config.authorization) headers.Authorization = this.#config.authorization;
    // Workspace admin endpoints carry the workspace in their path (rest_utils.py).
    if (this.#config.workspace && !target.includes('/mlflow/workspaces')) headers[WORKSPACE_HEADER] = this.#config.workspace;
    return headers;
  }

  #isOwnOrigin(target: string): boolean {
    if (!/^https?:\/\//i.test(target)) return true;
    try {
      return new URL(target).origin === this.#origin;
    } catch {
      return false;
    }
  }

  #attempted(method: string, target: string, attempts: number): Attempted {
    const url = this.#resolve(target).replace(/[?#].*$/, '');
    return {
      request: `${method} ${redactUri(url)}`,
      attempts,
      scrub: (text) => redactSecrets(text, this.#config.secrets),
    };
  }
}

function parseHttpUri(uri: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(uri);
  } catch {
    // reported below
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TrackingError(`not an http(s) tracking URI: ${redactUri(uri)}`, 'INVALID_PARAMETER_VALUE');
  }
  return url;
}

function parseJsonBody(response: AxiosResponse<string>, at: Attempted): Json {
  const text = String(response.data ?? '').trim();
  // An empty 200 is `{}`, as the Python client reads it.
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // reported below
  }
  const message = at.scrub(`${at.request} answered HTTP ${response.status} with a body that is not MLflow's JSON`);
  throw new TrackingError(message, 'INTERNAL_ERROR', { httpStatus: response.status });
}

function headerValue(response: AxiosResponse, name: string): string | undefined {
  const value: unknown = response.headers[name];
  return value === undefined || value === null ? undefined : String(value);
}

function isRetriedNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || isTlsError(error)) return false;
  return RETRIED_NETWORK_CODES.has(code) || code.startsWith('HPE_');
}

// An AxiosError carries the request config, Authorization header included: keep only what is safe
// to print before it becomes a TrackingError's cause.
function sanitized(error: unknown, scrub: (text: string) => string): Error {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return Object.assign(new Error(scrub(String(message ?? error))), typeof code === 'string' ? { code } : {});
}

function bodyError(error: unknown, at: Attempted): TrackingError {
  const message = (error as { message?: unknown }).message ?? error;
  return new TrackingError(at.scrub(`${at.request} failed: cannot read the body to send (${String(message)})`), 'INTERNAL_ERROR', {
    cause: sanitized(error, at.scrub),
  });
}
