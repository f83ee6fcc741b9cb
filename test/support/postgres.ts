// A throw-away PostgreSQL (Debian's binaries, no system service): initdb in a temp folder, the
// server on a free loopback port with its socket in that folder, removed when stopped. PostgreSQL
// refuses to run as root, and CI runs as root: then it runs as `nobody`, which owns the folder.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { killWithProcess, stopProcessGroup } from './processes.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const NOBODY = 65534;
const SUPERUSER = 'postgres';

export interface Postgres {
  port: number;
  /** its folder (the data and the socket), where its processes work */
  dir: string;
  /** Makes a database and returns its URI for SQLAlchemy (`postgresql://…`). */
  createDatabase(name: string): string;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** `ownedByProcess`: dies with the test process, which it does not keep alive. */
export async function startPostgres(options: { ownedByProcess?: boolean } = {}): Promise<Postgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlrun-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) fs.chownSync(dir, NOBODY, NOBODY);
  // setpriv needs no entry in /etc/passwd, and initdb reads the user's name only for the superuser: given here.
  const command = (binary: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', path.join(BIN, binary), ...args]]
      : [path.join(BIN, binary), args];

  const initdb = command('initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  execFileSync(initdb[0], initdb[1], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

  const port = await freePort();
  // Durability is not what these tests are about: without fsync the server writes at memory speed.
  const postgres = command('postgres', [
    '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
  ]);
  const log = fs.openSync(path.join(dir, 'postgres.log'), 'a');
  const child: ChildProcess = spawn(postgres[0], postgres[1], { cwd: dir, stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  if (options.ownedByProcess) killWithProcess(child);
  await waitUntilReady(port, child, path.join(dir, 'postgres.log'));

  return {
    port,
    dir,
    createDatabase(name) {
      psql(port, `CREATE DATABASE "${name}"`);
      return `postgresql://${SUPERUSER}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // SIGINT is PostgreSQL's fast shutdown: it ends the sessions and stops at once.
      await stopProcessGroup(child, 'SIGINT');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function psql(port: number, sql: string): string {
  return execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', SUPERUSER, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-Atc', sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitUntilReady(port: number, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${fs.readFileSync(logPath, 'utf8').slice(-3000)}`);
    try {
      psql(port, 'SELECT 1');
      return;
    } catch {
      // not accepting connections yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`postgres on port ${port} did not start:\n${fs.readFileSync(logPath, 'utf8').slice(-3000)}`);
}
