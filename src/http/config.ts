// Reads MLflow's own client settings (mlflow/environment_variables.py, mlflow/utils/credentials.py)
// from an environment, with MLflow's defaults, ceilings and precedence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TrackingError } from '../tracking/errors.ts';

export interface RetryPolicy {
  /** retries after the first attempt */
  maxRetries: number;
  /** seconds */
  backoffFactor: number;
  /** seconds of random jitter added to each non-zero backoff */
  backoffJitter: number;
  respectRetryAfter: boolean;
}

export interface TlsSettings {
  rejectUnauthorized: boolean;
  /** CA bundle (PEM) that replaces the default trust store */
  ca?: Buffer;
  /** client certificate .pem (certificate and key in one file, as `requests`' `cert=` takes it) */
  clientPem?: Buffer;
}

export interface ClientConfig {
  /** The `Authorization` header, when credentials are configured. */
  authorization?: string;
  /** Every credential string, so messages can be scrubbed of them. */
  secrets: string[];
  workspace?: string;
  retry: RetryPolicy;
  /** milliseconds of socket inactivity (connect or read) before an attempt fails */
  timeoutMs: number;
  tls: TlsSettings;
}

const MAX_RETRIES_LIMIT = 10;
const MAX_BACKOFF_FACTOR_LIMIT = 120;

/** @throws TrackingError INVALID_PARAMETER_VALUE naming the variable that is wrong. */
export function readClientConfig(uri: string, env: NodeJS.ProcessEnv): ClientConfig {
  const insecure = readBoolean(env, 'MLFLOW_TRACKING_INSECURE_TLS', false);
  const serverCertPath = env.MLFLOW_TRACKING_SERVER_CERT_PATH || undefined;
  if (insecure && serverCertPath) {
    throw invalid('MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set: use one or the other');
  }
  const clientCertPath = env.MLFLOW_TRACKING_CLIENT_CERT_PATH || undefined;
  return {
    ...readAuthorization(uri, env),
    workspace: env.MLFLOW_WORKSPACE || undefined,
    retry: {
      maxRetries: readNumber(env, 'MLFLOW_HTTP_REQUEST_MAX_RETRIES', 7, MAX_RETRIES_LIMIT, true),
      backoffFactor: readNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR', 2, MAX_BACKOFF_FACTOR_LIMIT, false),
      backoffJitter: readNumber(env, 'MLFLOW_HTTP_REQUEST_BACKOFF_JITTER', 1.0, Infinity, false),
      respectRetryAfter: readBoolean(env, 'MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER', true),
    },
    timeoutMs: readNumber(env, 'MLFLOW_HTTP_REQUEST_TIMEOUT', 120, Infinity, false) * 1000,
    tls: {
      rejectUnauthorized: !insecure,
      ca: serverCertPath ? readFile('MLFLOW_TRACKING_SERVER_CERT_PATH', serverCertPath) : undefined,
      clientPem: clientCertPath ? readFile('MLFLOW_TRACKING_CLIENT_CERT_PATH', clientCertPath) : undefined,
    },
  };
}

// Precedence as in MLflow + requests: username/password (env, else ~/.mlflow/credentials) give
// Basic and win over a token; userinfo in the URI wins over both, because requests rebuilds the
// header from it.
function readAuthorization(uri: string, env: NodeJS.ProcessEnv): Pick<ClientConfig, 'authorization' | 'secrets'> {
  const fromUri = userinfoOf(uri);
  if (fromUri) return basic(fromUri.username, fromUri.password);
  const file = readCredentialsFile(env);
  const username = env.MLFLOW_TRACKING_USERNAME || file.mlflow_tracking_username;
  const password = env.MLFLOW_TRACKING_PASSWORD || file.mlflow_tracking_password;
  if (username && password) return basic(username, password);
  const token = env.MLFLOW_TRACKING_TOKEN;
  if (token) return { authorization: `Bearer ${token}`, secrets: [token] };
  return { secrets: [] };
}

function basic(username: string, password: string): Pick<ClientConfig, 'authorization' | 'secrets'> {
  const pair = `${username}:${password}`;
  const encoded = Buffer.from(pair).toString('base64');
  return { authorization: `Basic ${encoded}`, secrets: [pair, password, encoded] };
}

function userinfoOf(uri: string): { username: string; password: string } | undefined {
  try {
    const url = new URL(uri);
    if (!url.username && !url.password) return undefined;
    return { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  } catch {
    return undefined;
  }
}

/** The `[mlflow]` section of ~/.mlflow/credentials (an INI file), keys lower-cased. */
function readCredentialsFile(env: NodeJS.ProcessEnv): Record<string, string> {
  const file = path.join(env.HOME || os.homedir(), '.mlflow', 'credentials');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const values: Record<string, string> = {};
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    const entry = /^([^=:]+)[=:](.*)$/.exec(line);
    if (section === 'mlflow' && entry) values[entry[1]!.trim().toLowerCase()] = entry[2]!.trim();
  }
  return values;
}

function readBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true' || normalized === '1') return true;
  if (normalized === 'false' || normalized === '0') return false;
  throw invalid(`${name}=${value} is not a boolean: use true, false, 1 or 0`);
}

// MLflow reads the factor and the timeout as ints; fractions are accepted here too (a superset).
function readNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, ceiling: number, integer: boolean): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value.trim());
  if (!Number.isFinite(parsed) || parsed < 0 || (integer && !Number.isInteger(parsed))) {
    throw invalid(`${name}=${value} is not a ${integer ? 'whole ' : ''}number ≥ 0`);
  }
  if (parsed > ceiling) throw invalid(`${name}=${value} is above MLflow's limit of ${ceiling}`);
  return parsed;
}

function readFile(name: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw invalid(`${name}=${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
  }
}

function invalid(message: string, cause?: unknown): TrackingError {
  return new TrackingError(message, 'INVALID_PARAMETER_VALUE', { cause });
}
