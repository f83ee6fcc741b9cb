import { startMlflowServer } from './mlflow-server.ts';

/**
 * The URI of the shared test server that global-setup.ts started; when a test file runs alone
 * (node --test file), starts one for this file.
 */
export async function sharedServerUri(): Promise<string> {
  if (process.env.MLRUN_TEST_SERVER_URI) return process.env.MLRUN_TEST_SERVER_URI;
  // Owned by this test process alone: it must not keep the process alive, and must die with it.
  const server = await startMlflowServer({ ownedByProcess: true });
  process.env.MLRUN_TEST_SERVER_URI = server.uri;
  return server.uri;
}
