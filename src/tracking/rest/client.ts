// MLflow's REST API as JSON calls over the one HTTP client (http/client.ts: the Python client's
// auth, TLS, headers and retries, mlflow/utils/rest_utils.py). Every call takes an AbortSignal
// that ends the request and any pending backoff at once: the caller bounds its wait whatever the
// retry settings say.
import { HttpClient, type Query } from '../../http/client.ts';
import type { Attempted } from '../../http/errors.ts';
import type { Answer } from '../../http/retry.ts';
import { TrackingError } from '../errors.ts';
import { redactUri } from '../redact.ts';

/** Where MLflow's REST endpoints are, below the tracking URI. */
export const API = '/api/2.0/mlflow';

export type Json = Record<string, unknown>;
export type { Query };

export class RestClient {
  /** The tracking URI without credentials or trailing slash; endpoints are appended to it. */
  readonly baseUrl: string;
  /** The tracking URI, fit to print. */
  readonly displayUri: string;
  readonly #http: HttpClient;

  /**
   * `http` when the caller shares its connections (uploads), else one of its own.
   * @throws TrackingError INVALID_PARAMETER_VALUE when the URI or an MLFLOW_* setting is wrong.
   */
  constructor(uri: string, env: NodeJS.ProcessEnv, http?: HttpClient) {
    parseHttpUri(uri);
    this.#http = http ?? new HttpClient(uri, env);
    this.baseUrl = this.#http.baseUrl;
    this.displayUri = redactUri(uri);
  }

  /** GET `endpoint` (e.g. `/api/2.0/mlflow/runs/get`) with the fields as query parameters. */
  async get(endpoint: string, query: Query, signal?: AbortSignal): Promise<Json> {
    const answer = await this.#http.send({ method: 'GET', target: endpoint, query, signal });
    return parseJsonBody(answer, this.#http.attempted('GET', endpoint, 1));
  }

  /** Resolves once the server answers `/health` at all; throws like any call when it does not. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.#http.send({ method: 'GET', target: '/health', signal });
  }

  /** POST `body` as JSON; NaN and ±Infinity must already be encoded (see codec.ts). */
  async post(endpoint: string, body: unknown, signal?: AbortSignal): Promise<Json> {
    const text = JSON.stringify(body);
    const answer = await this.#http.send({
      method: 'POST',
      target: endpoint,
      body: text,
      bodyBytes: Buffer.byteLength(text),
      headers: { 'Content-Type': 'application/json' },
      signal,
    });
    return parseJsonBody(answer, this.#http.attempted('POST', endpoint, 1));
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#http.close();
  }
}

/** The token of a paged answer's next page; MLflow leaves it out (or empty) on the last page. */
export function nextPageToken(answer: Json): string | undefined {
  return typeof answer.next_page_token === 'string' && answer.next_page_token !== '' ? answer.next_page_token : undefined;
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
