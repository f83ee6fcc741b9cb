// One real `mlflow server` shared by the integration tests (node --test-global-setup). Tests that
// need a server of their own (auth, TLS, one that dies) start it with startMlflowServer().
import { startMlflowServer, type MlflowServer } from './mlflow-server.ts';

let server: MlflowServer | undefined;

export async function globalSetup(): Promise<void> {
  server = await startMlflowServer();
  process.env.MLRUN_TEST_SERVER_URI = server.uri;
}

export async function globalTeardown(): Promise<void> {
  await server?.stop();
}
