// A run's metric points over MLflow's REST API, which serves them one key at a time:
// metrics/get-history, paged by an offset token, in the order timestamp, step, value
// (handlers.py `_get_metric_history`, SqlAlchemyStore.get_metric_history). The Store's position
// is the key and the server's token within it, keys taken in code-point order.
import { GET_METRIC_HISTORY_MAX_RESULTS } from '../limits.ts';
import { TrackingError } from '../errors.ts';
import type { Metric, MetricPage } from '../store.ts';
import { API, nextPageToken, type Json, type RestClient } from './client.ts';
import { decodeMetric } from './codec.ts';

/** Within `key`: before the server's `token`, or (null) after all of its points. */
type Position = [key: string, token: string | null];

export async function metricPoints(client: RestClient, runId: string, after: string | undefined, max: number, signal?: AbortSignal): Promise<MetricPage> {
  const position = after === undefined ? undefined : parsePosition(after);
  const keys = await metricKeys(client, runId, signal);
  const metrics: Metric[] = [];
  let next: Position | undefined;
  for (const key of keys) {
    if (metrics.length >= max) break;
    if (position && (key < position[0] || (key === position[0] && position[1] === null))) continue;
    const token = position && key === position[0] ? position[1]! : undefined;
    const page = await history(client, runId, key, max - metrics.length, token, signal);
    metrics.push(...page.metrics);
    next = [key, page.token ?? null];
  }
  return next && metrics.length > 0 ? { metrics, next: JSON.stringify(next) } : { metrics };
}

export async function countMetricPoints(client: RestClient, runId: string, signal?: AbortSignal): Promise<number> {
  let count = 0;
  for (const key of await metricKeys(client, runId, signal)) {
    let token: string | undefined;
    do {
      const page = await history(client, runId, key, GET_METRIC_HISTORY_MAX_RESULTS, token, signal);
      count += page.metrics.length;
      token = page.token;
    } while (token !== undefined);
  }
  return count;
}

/** The run's metric keys: each has a latest value in runs/get. */
async function metricKeys(client: RestClient, runId: string, signal?: AbortSignal): Promise<string[]> {
  const answer = await client.get(`${API}/runs/get`, { run_id: runId }, signal);
  const latest = (((answer.run as Json | undefined)?.data as Json | undefined)?.metrics ?? []) as { key: string }[];
  return latest.map((metric) => metric.key).sort();
}

async function history(client: RestClient, runId: string, key: string, max: number, token: string | undefined, signal?: AbortSignal) {
  const query = { run_id: runId, metric_key: key, max_results: String(max), ...(token === undefined ? {} : { page_token: token }) };
  const answer = await client.get(`${API}/metrics/get-history`, query, signal);
  const metrics = ((answer.metrics ?? []) as Json[]).map(decodeMetric);
  return { metrics, token: nextPageToken(answer) };
}

function parsePosition(after: string): Position {
  try {
    const position: unknown = JSON.parse(after);
    if (Array.isArray(position) && position.length === 2 && typeof position[0] === 'string' && (position[1] === null || typeof position[1] === 'string')) {
      return position as Position;
    }
  } catch {
    // reported below
  }
  throw new TrackingError(`Invalid page token ${JSON.stringify(after)}.`, 'INVALID_PARAMETER_VALUE');
}
