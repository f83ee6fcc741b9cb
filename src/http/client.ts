// The one HTTP client of mlrun, for the tracking REST API and for artifact uploads alike: Node's
// own http/https (no library: it is what the REST calls need, and loading axios cost start-up
// time), keep-alive connections with MLflow's TLS settings, MLflow's auth headers for the server's
// own origin only, retries as the Python client makes them (retry.ts), every message redacted.
import http from 'node:http';
import { redactSecrets, redactUri } from '../tracking/redact.ts';
import { keepAliveAgents, type Agents } from './agents.ts';
import { readClientConfig, type ClientConfig } from './config.ts';
import type { Attempted } from './errors.ts';
import { requestHeaders } from './headers.ts';
import { withRetries, type Answer, type Outcome } from './retry.ts';

export type Query = Record<string, string | string[] | undefined>;

/** Writes a request's body and ends it; rejects only when the body cannot be had (a file gone). */
export type BodyWriter = (request: http.ClientRequest) => Promise<void>;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** An endpoint path below the service URI, or an absolute URL (one elsewhere gets no credentials). */
  target: string;
  query?: Query;
  headers?: Record<string, string>;
  /** Sent whole, or written anew for each attempt. */
  body?: string | BodyWriter;
  /** The body's size, for messages (a 413's). */
  bodyBytes?: number;
  /** Ends the request and any pending backoff at once. */
  signal: AbortSignal | undefined;
  /** Called before each attempt after the first (an upload takes back the progress it reported). */
  onRetry?: () => void;
}

export interface HttpAnswer extends Answer {
  /** Names lower-cased. */
  headers: http.IncomingHttpHeaders;
}

/** Redirects followed, as `requests` does: 307/308 for any method, 301/302/303 for a GET. */
const MAX_REDIRECTS = 5;

export class HttpClient {
  /** The service URI without credentials or trailing slash; endpoints are appended to it. */
  readonly baseUrl: string;
  readonly #config: ClientConfig;
  readonly #origin: string;
  readonly #agents: Agents;

  /** @throws TrackingError INVALID_PARAMETER_VALUE when an MLFLOW_* setting is wrong. */
  constructor(serviceUri: string, env: NodeJS.ProcessEnv) {
    const url = new URL(serviceUri);
    this.#config = readClientConfig(serviceUri, env);
    this.#origin = url.origin;
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.#agents = keepAliveAgents(this.#config.tls);
  }

  /** The answer of the first attempt that got a 2xx. @throws TrackingError otherwise. */
  send(request: HttpRequest): Promise<HttpAnswer> {
    const url = this.#url(request.target, request.query);
    const attempted = (attempts: number) => this.attempted(request.method, url.href, attempts, request.bodyBytes);
    let first = true;
    return withRetries(this.#config.retry, request.signal, attempted, () => {
      if (!first) request.onRetry?.();
      first = false;
      return this.#follow(request, url);
    });
  }

  /** How a request is named in messages: method and redacted URL without its query. */
  attempted(method: string, target: string, attempts: number, bodyBytes?: number): Attempted {
    const url = this.#url(target).href.replace(/[?#].*$/, '');
    return {
      request: `${method} ${redactUri(url)}`,
      attempts,
      scrub: (text) => redactSecrets(text, this.#config.secrets),
      ...(bodyBytes === undefined ? {} : { bodyBytes }),
    };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#agents.destroy();
  }

  async #follow(request: HttpRequest, start: URL): Promise<Outcome<HttpAnswer>> {
    let url = start;
    let method = request.method;
    let body = request.body;
    for (let hops = 0; ; hops++) {
      const outcome = await this.#attempt(method, url, body, request);
      const location = 'answer' in outcome ? outcome.answer.headers.location : undefined;
      if (!('answer' in outcome) || !location || hops === MAX_REDIRECTS) return outcome;
      const { status } = outcome.answer;
      if (status === 303 || ((status === 301 || status === 302) && method === 'GET')) {
        method = 'GET';
        body = undefined;
      } else if (status !== 307 && status !== 308) {
        return outcome;
      }
      url = new URL(location, url);
    }
  }

  /** One attempt; never rejects. */
  #attempt(method: string, url: URL, body: HttpRequest['body'], request: HttpRequest): Promise<Outcome<HttpAnswer>> {
    // The workspace header is not for workspace admin endpoints, which name it in their path (rest_utils.py).
    const headers = { ...requestHeaders(this.#config, this.#origin, url.href, !url.pathname.includes('/mlflow/workspaces')), ...request.headers };
    if (typeof body === 'string') headers['Content-Length'] = String(Buffer.byteLength(body));
    return new Promise((resolve) => {
      let bodyFailure: unknown;
      const secure = url.protocol === 'https:';
      const sent = (secure ? process.getBuiltinModule('node:https') : http).request(url, {
        method,
        headers,
        agent: secure ? this.#agents.https() : this.#agents.http,
        signal: request.signal,
        timeout: this.#config.timeoutMs,
      });
      sent.on('timeout', () => sent.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      sent.on('error', (failure) => resolve(bodyFailure === undefined ? { failure } : { bodyFailure }));
      sent.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (failure) => resolve({ failure }));
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({
            answer: {
              status: response.statusCode ?? 0,
              statusText: response.statusMessage ?? '',
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            },
          });
          // An answer before the whole body went (a refusal): the connection cannot carry another request.
          if (!sent.writableFinished) sent.destroy();
        });
      });
      if (typeof body === 'function') {
        body(sent).catch((error: unknown) => {
          if (sent.destroyed) return;
          bodyFailure = error;
          sent.destroy(error as Error);
        });
      } else {
        sent.end(body);
      }
    });
  }

  #url(target: string, query?: Query): URL {
    const url = new URL(/^https?:\/\//i.test(target) ? target : `${this.baseUrl}${target.startsWith('/') ? '' : '/'}${target}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) url.searchParams.append(key, item);
    }
    return url;
  }
}
