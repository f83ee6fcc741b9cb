// A real HTTP proxy on 127.0.0.1 in front of a real server, for failures a server alone does not
// make on demand: a body refused as too large (as nginx's client_max_body_size answers 413), a
// connection reset halfway through a body, or a hook that runs once a body passed a given size
// (to kill the server mid-upload). With no fault it forwards every request as it is.
import http from 'node:http';
import type net from 'node:net';

export type Fault =
  /** 413 for any request whose Content-Length is over `maxBytes`, before a byte of it is forwarded. */
  | { kind: 'body-limit'; maxBytes: number }
  /**
   * Resets the client's connection once `afterBytes` of a request body went through; with `times`,
   * only the first `times` bodies that get that far are cut.
   */
  | { kind: 'reset'; afterBytes: number; times?: number }
  /** Calls `then` once, when `afterBytes` of a request body went through; forwarding goes on. */
  | { kind: 'hook'; afterBytes: number; then: () => void };

export interface FaultProxy {
  uri: string;
  /** The fault for the requests that arrive from now on; undefined forwards them untouched. */
  fault: Fault | undefined;
  /** `METHOD path status` of every request, in the order they were answered or cut. */
  log: string[];
  close(): Promise<void>;
}

// nginx's own page for the status (ngx_http_special_response.c).
const TOO_LARGE_PAGE = '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export async function startFaultProxy(targetUri: string): Promise<FaultProxy> {
  const target = new URL(targetUri);
  const proxy: FaultProxy = { uri: '', fault: undefined, log: [], close: async () => undefined };

  const server = http.createServer((req, res) => {
    const fault = proxy.fault;
    const entry = `${req.method} ${req.url}`;
    const length = Number(req.headers['content-length'] ?? 0);
    if (fault?.kind === 'body-limit' && length > fault.maxBytes) {
      // As nginx does: the answer at once, the rest of the body read and thrown away.
      proxy.log.push(`${entry} 413`);
      req.resume();
      res.writeHead(413, 'Request Entity Too Large', { 'Content-Type': 'text/html' });
      res.end(TOO_LARGE_PAGE);
      return;
    }
    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    // The server gone (refused, or killed mid-request): the client sees its connection reset, as
    // it would without the proxy.
    let cutOff = false;
    const cut = () => {
      if (cutOff) return;
      cutOff = true;
      proxy.log.push(`${entry} reset`);
      upstream.destroy();
      req.socket.resetAndDestroy();
    };
    upstream.on('error', () => {
      if (!res.headersSent) cut();
      else res.destroy();
    });
    upstream.on('response', (answer) => {
      proxy.log.push(`${entry} ${answer.statusCode}`);
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
      answer.pipe(res);
    });
    let passed = 0;
    let hooked = false;
    req.on('data', (chunk: Buffer) => {
      if (fault?.kind === 'reset' && passed + chunk.length > fault.afterBytes && !cutOff) {
        if (fault.times === undefined || fault.times-- > 0) {
          cut();
          return;
        }
      }
      if (cutOff) return;
      passed += chunk.length;
      if (!upstream.write(chunk)) req.pause();
      if (fault?.kind === 'hook' && !hooked && passed >= fault.afterBytes) {
        hooked = true;
        fault.then();
      }
    });
    upstream.on('drain', () => req.resume());
    req.on('end', () => upstream.end());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.uri = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
