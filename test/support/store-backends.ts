// The two stores behind the one Store interface, for tests that hold every backend to the same
// contract: the REST store on the shared `mlflow server`, and the embedded store in a new
// mlflow.db. Both are read back by the MLflow Python client through `uri`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { createRestStore } from '../../src/tracking/rest/store.ts';
import { openSqliteStore } from '../../src/tracking/sqlite/store.ts';
import type { Store } from '../../src/tracking/store.ts';
import { sharedServerUri } from './shared-server.ts';

export interface OpenedBackend {
  store: Store;
  /** The tracking URI the Python client reads it with. */
  uri: string;
  /** Where MLflow puts an experiment's artifacts in this store. */
  experimentLocation: (experimentId: string) => string;
  /** The folder of an embedded store. */
  dir?: string;
}

export interface StoreBackend {
  name: string;
  /** A store for one test; closed (and its folder removed) after the test file. */
  open(): Promise<OpenedBackend>;
}

const opened: OpenedBackend[] = [];
after(async () => {
  for (const { store, dir } of opened) {
    await store.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

export const storeBackends: StoreBackend[] = [
  {
    name: 'REST (mlflow server)',
    async open() {
      const uri = await sharedServerUri();
      // No developer's ~/.mlflow/credentials in these tests.
      const store = createRestStore(uri, { HOME: '/nonexistent' });
      return remember({ store, uri, experimentLocation: (id) => `mlflow-artifacts:/${id}` });
    },
  },
  {
    name: 'embedded SQLite',
    async open() {
      const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-store-')));
      const store = openSqliteStore(path.join(dir, 'mlflow.db'));
      return remember({ store, uri: `sqlite:///${dir}/mlflow.db`, experimentLocation: (id) => `${dir}/mlruns/${id}`, dir });
    },
  },
];

function remember(backend: OpenedBackend): OpenedBackend {
  opened.push(backend);
  return backend;
}
