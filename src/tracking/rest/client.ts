// The HTTP client for an MLflow tracking server, with the Python client's auth, TLS, headers and
// retries (mlflow/utils/rest_utils.py). Every call takes an AbortSignal that ends the request and
// any pending backoff at once: the caller bounds its wait whatever the retry settings say.
import axios, { type AxiosInstance } from 'axios';
import { TrackingError } from '../errors.ts';
import { redactSecrets, redactUri } from '../redact.ts';
import { destroyAgents, keepAliveAgents, type Agents } from './agents.ts';
import { readClientConfig, type ClientConfig } from './config.ts';
import type { Attempted } from './errors.ts';
import { requestHeaders } from './headers.ts';
import { withRetries, type Answer, type Outcome } from './retry.ts';

export type Json = Record<string, unknown>;
export type Query = Record<string, string | string[] | undefined>;

interface Send {
  method: 'GET' | 'POST';
  url: string;
  query?: Query;
  body?: string;
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
}

export class RestClient {
  /** The tracking URI without credentials or trailing slash; endpoints are appended to it. */
  readonly baseUrl: string;
  /** The tracking URI, fit to print. */
  readonly displayUri: string;
  readonly #config: ClientConfig;
  readonly #origin: string;
  readonly #agents: Agents;
  readonly #axios: AxiosInstance;

  /** @throws TrackingError INVALID_PARAMETER_VALUE when the URI or an MLFLOW_* setting is wrong. */
  constructor(uri: string, env: NodeJS.ProcessEnv) {
    const url = parseHttpUri(uri);
    this.#config = readClientConfig(uri, env);
    this.#origin = url.origin;
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.displayUri = redactUri(uri);
    this.#agents = keepAliveAgents(this.#config.tls);
    this.#axios = axios.create({
      adapter: 'http',
      httpAgent: this.#agents.http,
      httpsAgent: this.#agents.https,
      timeout: this.#config.timeoutMs,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
    });
  }

  /** GET `endpoint` (e.g. `/api/2.0/mlflow/runs/get`) with the fields as query parameters. */
  async get(endpoint: string, query: Query, signal?: AbortSignal): Promise<Json> {
    const answer = await this.#send({ method: 'GET', url: this.#resolve(endpoint), query, headers: this.#headers(endpoint), signal });
    return parseJsonBody(answer, this.#attempted('GET', endpoint, 1));
  }

  /** Resolves once the server answers `/health` at all; throws like any call when it does not. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.#send({ method: 'GET', url: this.#resolve('/health'), headers: this.#headers('/health'), signal });
  }

  /** POST `body` as JSON; NaN and ±Infinity must already be encoded (see codec.ts). */
  async post(endpoint: string, body: unknown, signal?: AbortSignal): Promise<Json> {
    const answer = await this.#send({
      method: 'POST',
      url: this.#resolve(endpoint),
      body: JSON.stringify(body),
      headers: { ...this.#headers(endpoint), 'Content-Type': 'application/json' },
      signal,
    });
    return parseJsonBody(answer, this.#attempted('POST', endpoint, 1));
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    destroyAgents(this.#agents);
  }

  #send(request: Send): Promise<Answer> {
    const bodyBytes = request.body === undefined ? undefined : Buffer.byteLength(request.body);
    const attempted = (attempts: number) => this.#attempted(request.method, request.url, attempts, bodyBytes);
    return withRetries(this.#config.retry, request.signal, attempted, () => this.#attempt(request));
  }

  async #attempt(request: Send): Promise<Outcome<Answer>> {
    try {
      const response = await this.#axios.request<string>({
        method: request.method,
        url: request.url,
        params: request.query,
        paramsSerializer: { indexes: null },
        data: request.body,
        headers: request.headers,
        maxRedirects: 5,
        signal: request.signal,
      });
      const retryAfter: unknown = response.headers['retry-after'];
      return {
        answer: {
          status: response.status,
          statusText: response.statusText,
          retryAfter: retryAfter === undefined || retryAfter === null ? undefined : String(retryAfter),
          body: String(response.data ?? ''),
        },
      };
    } catch (failure) {
      return { failure };
    }
  }

  #resolve(target: string): string {
    return /^https?:\/\//i.test(target) ? target : `${this.baseUrl}${target.startsWith('/') ? '' : '/'}${target}`;
  }

  #headers(target: string): Record<string, string> {
    // Workspace admin endpoints carry the workspace in their path (rest_utils.py).
    return requestHeaders(this.#config, this.#origin, target, !target.includes('/mlflow/workspaces'));
  }

  #attempted(method: string, target: string, attempts: number, bodyBytes?: number): Attempted {
    const url = this.#resolve(target).replace(/[?#].*$/, '');
    return {
      request: `${method} ${redactUri(url)}`,
      attempts,
      scrub: (text) => redactSecrets(text, this.#config.secrets),
      ...(bodyBytes === undefined ? {} : { bodyBytes }),
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

function parseJsonBody(answer: Answer, at: Attempted): Json {
  const text = answer.body.trim();
  // An empty 200 is `{}`, as the Python client reads it.
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // reported below
  }
  const message = at.scrub(`${at.request} answered HTTP ${answer.status} with a body that is not MLflow's JSON`);
  throw new TrackingError(message, 'INTERNAL_ERROR', { httpStatus: answer.status });
}
