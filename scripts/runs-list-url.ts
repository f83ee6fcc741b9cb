// The MLflow UI's address that opens an experiment's runs table. MLflow 3's UI starts on the
// GenAI view (its workflow toggle defaults to "genai", kept in the browser's localStorage as
// `mlflow.workflowType`), where runs of a training pipeline are not listed; the `workflowType`
// query parameter sets that toggle to "Model training", and the `runs` tab is the runs table
// (as read in the 3.17.2 UI's build, mlflow/server/js/build: the workflow-type context reads
// `workflowType` from the URL before localStorage). The demo prints it; the browser test opens it.
// Run as a script: node scripts/runs-list-url.ts SERVER EXPERIMENT_ID

export function runsListUrl(server: string, experimentId: string): string {
  const query = new URLSearchParams({ workflowType: 'machine_learning' });
  return `${server.replace(/\/+$/, '')}/#/experiments/${encodeURIComponent(experimentId)}/runs?${query}`;
}

if (import.meta.main) {
  const [server, experimentId] = process.argv.slice(2);
  if (!server || !experimentId) throw new Error('usage: node scripts/runs-list-url.ts SERVER EXPERIMENT_ID');
  process.stdout.write(`${runsListUrl(server, experimentId)}\n`);
}
