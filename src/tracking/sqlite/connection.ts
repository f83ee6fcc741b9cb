// One connection to the database and the transactions every store call runs in.
//
// Many mlrun processes (parallel DVC stages), the Python client of a stage and `mlflow ui` may use
// the same file at once. Each write is one short `BEGIN IMMEDIATE` transaction: it takes the write
// lock up front, so it never has to upgrade a read lock midway (the upgrade that fails at once
// with "database is locked" whatever the busy timeout). While another process holds the lock,
// SQLite's busy handler waits up to BUSY_TIMEOUT_MS; after that the whole transaction is rolled
// back and retried after an asynchronous pause, so a long wait never blocks the event loop (which
// also passes the wrapped command's output through) for more than BUSY_TIMEOUT_MS at a time.
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { TrackingError } from '../errors.ts';
import { loadSqlite } from './load.ts';

const BUSY_TIMEOUT_MS = 100;
const RETRY_FOR_MS = 120_000;
const SQLITE_BUSY = 5;
// PRAGMA synchronous: 1 is NORMAL, 2 FULL.
const FULL = 2;

export class Connection {
  readonly db: DatabaseSync;
  /** The file's name, for messages. */
  readonly label: string;
  readonly #statements = new Map<string, StatementSync>();
  #durableWrites = 0;
  #synchronous = FULL;

  constructor(dbPath: string) {
    const { DatabaseSync } = loadSqlite();
    this.label = path.basename(dbPath);
    // MLflow's sessions run with foreign keys on as well (mlflow/store/db/utils.py).
    this.db = new DatabaseSync(dbPath, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  }

  /** A prepared statement, compiled once per connection. */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` in a write transaction, retried as a whole while the database is busy. */
  write<T>(work: () => T, signal?: AbortSignal): Promise<T> {
    return this.retrying(() => this.#transaction('BEGIN IMMEDIATE', work), signal);
  }

  /**
   * As write, committed with synchronous=FULL: the commit survives even a power cut once this
   * resolves. The store's NORMAL (create.ts) keeps every commit through a crash of the process but
   * may lose the last ones to a power cut.
   */
  async writeDurably<T>(work: () => T, signal?: AbortSignal): Promise<T> {
    // Counted: a durable write that waits for the lock must not be made NORMAL by one that ends.
    if (this.#durableWrites++ === 0) {
      this.#synchronous = Number(this.statement('PRAGMA synchronous').get()!.synchronous);
      if (this.#synchronous < FULL) this.db.exec(`PRAGMA synchronous = ${FULL}`);
    }
    try {
      return await this.write(work, signal);
    } finally {
      if (--this.#durableWrites === 0 && this.#synchronous < FULL && this.db.isOpen) this.db.exec(`PRAGMA synchronous = ${this.#synchronous}`);
    }
  }

  /** Runs `work` in a read transaction: one consistent snapshot for several queries. */
  read<T>(work: () => T, signal?: AbortSignal): Promise<T> {
    return this.retrying(() => this.#transaction('BEGIN', work), signal);
  }

  close(): void {
    this.#statements.clear();
    if (this.db.isOpen) this.db.close();
  }

  /** Runs `work` again while it fails with SQLITE_BUSY, for up to RETRY_FOR_MS. */
  async retrying<T>(work: () => T, signal?: AbortSignal): Promise<T> {
    const deadline = Date.now() + RETRY_FOR_MS;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) {
        throw new TrackingError(`${this.label}: call aborted`, 'DEADLINE_EXCEEDED', { unreachable: true, cause: signal.reason });
      }
      try {
        return work();
      } catch (error) {
        if (!isBusy(error)) throw asTrackingError(error, this.label);
        if (Date.now() >= deadline) {
          throw new TrackingError(`${this.label} stayed locked by other writers for ${RETRY_FOR_MS / 1000} s`, 'TEMPORARILY_UNAVAILABLE', {
            unreachable: true,
            cause: error,
          });
        }
      }
      // Jitter keeps the processes that queued behind one lock from waking up together.
      await sleep(Math.min(10 * attempt, 200) * (0.5 + Math.random()), undefined, { signal }).catch(() => undefined);
    }
  }

  #transaction<T>(begin: string, work: () => T): T {
    this.db.exec(begin);
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      // A failed COMMIT (busy) leaves the transaction open; anything else may too.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }
}

function isBusy(error: unknown): boolean {
  return sqliteCode(error) === SQLITE_BUSY;
}

export function isConstraintViolation(error: unknown): boolean {
  return sqliteCode(error) === 19;
}

function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  // errcode is the extended result code; its low byte is the primary code.
  return typeof code === 'number' ? code & 0xff : undefined;
}

function asTrackingError(error: unknown, label: string): TrackingError {
  if (error instanceof TrackingError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // MLflow answers database errors with BAD_REQUEST (SQLAlchemyError) and others INTERNAL_ERROR.
  const code = sqliteCode(error) === undefined ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  return new TrackingError(`${label}: ${message}`, code, { cause: error });
}
