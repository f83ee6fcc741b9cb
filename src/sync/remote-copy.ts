// Finds the server's copy of an offline run by its `mlrun.synced_from` tag, for the one case where
// the offline record does not know it: a sync killed between runs/create and writing down the new
// run's id. The Store interface has no search (nothing else needs one), and sync only ever talks to
// an MLflow server, so this speaks runs/search directly.
import { RestClient } from '../tracking/rest/client.ts';
import { SYNCED_FROM_TAG } from '../tracking/offline-tags.ts';

export type FindCopy = (experimentIds: string[], offlineRunId: string) => Promise<string | undefined>;

export interface CopyFinder {
  find: FindCopy;
  close(): void;
}

/** @throws TrackingError INVALID_PARAMETER_VALUE when the URI or an MLFLOW_* setting is wrong. */
export function remoteCopyFinder(uri: string, env: NodeJS.ProcessEnv): CopyFinder {
  const client = new RestClient(uri, env);
  return {
    async find(experimentIds, offlineRunId) {
      const ids = [...new Set(experimentIds)];
      if (ids.length === 0) return undefined;
      // Offline run ids are 32 hex digits: nothing to escape inside the quotes.
      if (!/^[0-9a-zA-Z_-]+$/.test(offlineRunId)) return undefined;
      const answer = await client.post('/api/2.0/mlflow/runs/search', {
        experiment_ids: ids,
        filter: `tags.\`${SYNCED_FROM_TAG}\` = '${offlineRunId}'`,
        run_view_type: 'ACTIVE_ONLY',
        max_results: 10,
        order_by: ['attributes.start_time ASC'],
      });
      const runs = (answer.runs ?? []) as { info?: { run_id?: string } }[];
      return runs.find((run) => run.info?.run_id)?.info?.run_id;
    },
    close: () => client.close(),
  };
}
