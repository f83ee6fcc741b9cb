import { startMlflowServer } from './mlflow-server.ts';

/**
 * The URI of the shared test server that global-setup.ts started; when a test file runs alone
 * (node --test file), starts one for this file.
 */
export async function sharedServerUri(): Promise<string> {
  if (process.env.MLRUN_TEST_SERVER_URI) return process.env.MLRUN_TEST_SERVER_URI;
  const server = await startMlflowServer();
  process.env.MLRUN_TEST_SERVER_URI = server.uri;
  process.once('exit', () => void server.stop());
  return server.uri;
}
