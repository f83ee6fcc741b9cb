// Keep-alive connection pools for the tracking server, with MLflow's TLS settings.
import http from 'node:http';
import https from 'node:https';
import type { TlsSettings } from './config.ts';

export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

export function keepAliveAgents(tls: TlsSettings): Agents {
  return {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({
      keepAlive: true,
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: tls.ca } : {}),
      // One .pem with the certificate and its key, as `requests` takes `cert=`: each option picks
      // its own PEM block out of it.
      ...(tls.clientPem ? { cert: tls.clientPem, key: tls.clientPem } : {}),
    }),
  };
}

/** Closes idle keep-alive connections. */
export function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
}
