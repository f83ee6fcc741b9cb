// An in-process HTTP server for unit tests of the HTTP clients: it records every request and lets
// the test answer it, to play what a real MLflow server cannot (HTML 502s, 429 with Retry-After).
import http from 'node:http';
import type net from 'node:net';

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** the body as received; `.toString()` for text */
  body: Buffer;
}

export type Reply = (seen: Seen, index: number, res: http.ServerResponse) => void;

export interface FakeServer {
  uri: string;
  seen: Seen[];
  close(): Promise<void>;
}

export async function fakeServer(reply: Reply): Promise<FakeServer> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(entry);
      reply(entry, seen.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Fast retries for tests that exercise them: 0, 0.1, 0.2 s. */
export const FAST_RETRIES = { MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.05', MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0' };
