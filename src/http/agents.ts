// Keep-alive connection pools for the tracking server, with MLflow's TLS settings.
import http from 'node:http';
import type https from 'node:https';
import type { TlsSettings } from './config.ts';

export interface Agents {
  http: http.Agent;
  /** Made on first use: node:https, and TLS with it, cost start-up time that a plain-http server never needs. */
  https: () => https.Agent;
  /** Closes idle keep-alive connections. */
  destroy: () => void;
}

export function keepAliveAgents(tls: TlsSettings): Agents {
  const plain = new http.Agent({ keepAlive: true });
  let secure: https.Agent | undefined;
  return {
    http: plain,
    https: () =>
      (secure ??= new (process.getBuiltinModule('node:https').Agent)({
        keepAlive: true,
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.ca ? { ca: tls.ca } : {}),
        // One .pem with the certificate and its key, as `requests` takes `cert=`: each option picks
        // its own PEM block out of it.
        ...(tls.clientPem ? { cert: tls.clientPem, key: tls.clientPem } : {}),
      })),
    destroy: () => {
      plain.destroy();
      secure?.destroy();
    },
  };
}
