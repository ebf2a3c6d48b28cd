import {
  type AbortableOperationOptions,
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';

/**
 * Options of {@link SwlSqliteDialect}.
 */
export interface SwlSqliteOptions {
  /**
   * How long a writer waits for another connection's write lock before failing, in milliseconds
   * (SQLite `busy_timeout`). Default 5000.
   */
  busyTimeoutMs?: number;
  /**
   * Put the file in write-ahead-log mode so readers never block the writer. Default `true`;
   * ignored for `:memory:` databases.
   */
  wal?: boolean;
}

/**
 * A first-come-first-served lock. Each holder gets its own release function, so releasing twice
 * (or late) can never end somebody else's turn.
 */
class TurnLock {
  #last: Promise<void> = Promise.resolve();

  /** Waits until every earlier holder has released; returns this holder's (idempotent) release. */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#last;
    this.#last = released;
    await previous;
    return release;
  }
}

/**
 * One turn on the single `node:sqlite` connection: what {@link ImmediateSqliteDriver} hands out per
 * `acquireConnection()`. It runs queries on the shared connection until it is released, once;
 * after that it refuses to, so a stale handle cannot run SQL during another holder's turn.
 */
class ConnectionTurn implements DatabaseConnection {
  readonly #connection: DatabaseConnection;
  #release: (() => void) | undefined;

  constructor(connection: DatabaseConnection, release: () => void) {
    this.#connection = connection;
    this.#release = release;
  }

  /** Ends this turn; later calls do nothing. */
  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async executeQuery<R>(
    compiledQuery: CompiledQuery,
    options?: AbortableOperationOptions,
  ): Promise<QueryResult<R>> {
    return await this.#live().executeQuery<R>(compiledQuery, options);
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize: number,
    options?: AbortableOperationOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    yield* this.#live().streamQuery<R>(compiledQuery, chunkSize, options);
  }

  #live(): DatabaseConnection {
    if (!this.#release) throw new Error('this SQLite connection turn was already released');
    return this.#connection;
  }
}

/**
 * Kysely's SQLite driver with two changes:
 *
 * - write transactions start with `BEGIN IMMEDIATE`;
 * - it serializes the use of its single connection itself (a {@link ConnectionTurn} per
 *   `acquireConnection()`), instead of Kysely's `RuntimeDriver` mutex. Kysely 0.29's
 *   `startTransaction().execute()` (what MikroORM uses) never releases the connection when
 *   `beginTransaction()` throws, so with Kysely's mutex one busy timeout at `BEGIN IMMEDIATE`
 *   left every later query of the ORM waiting forever. Here a failed `BEGIN` ends its own turn;
 *   Kysely's own release, on the paths where it does release, is then a no-op.
 */
class ImmediateSqliteDriver implements Driver {
  readonly #sqlite: SqliteDriver;
  readonly #lock = new TurnLock();
  #connection: DatabaseConnection | undefined;

  constructor(config: SqliteDialectConfig) {
    this.#sqlite = new SqliteDriver(config);
  }

  async init(options?: AbortableOperationOptions): Promise<void> {
    await this.#sqlite.init(options);
    this.#connection = await this.#sqlite.acquireConnection();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#lock.acquire();
    if (!this.#connection) {
      release();
      throw new Error('the SQLite driver is not initialized');
    }
    return new ConnectionTurn(this.#connection, release);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    } catch (error) {
      // Kysely's startTransaction() will not release a connection whose BEGIN failed: do it here.
      if (connection instanceof ConnectionTurn) connection.release();
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#sqlite.commitTransaction(connection);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#sqlite.rollbackTransaction(connection);
    } catch (error) {
      // SQLite may already have rolled the transaction back itself (SQLITE_FULL, I/O errors, a
      // failed COMMIT): then there is nothing to undo, and failing here would keep Kysely from
      // releasing the connection — the same wedge as a failed BEGIN.
      if (error instanceof Error && /no transaction is active/i.test(error.message)) return;
      throw error;
    }
  }

  async savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.#sqlite.savepoint(connection, savepointName, compileQuery);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.#sqlite.rollbackToSavepoint(connection, savepointName, compileQuery);
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.#sqlite.releaseSavepoint(connection, savepointName, compileQuery);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    turn(connection).release();
  }

  async destroy(): Promise<void> {
    await this.#sqlite.destroy();
  }
}

/** `connection` as the {@link ConnectionTurn} it must be (Kysely hands back what it acquired). */
function turn(connection: DatabaseConnection): ConnectionTurn {
  if (!(connection instanceof ConnectionTurn)) {
    throw new Error('not a connection handed out by this SQLite driver');
  }
  return connection;
}

/**
 * Kysely's SQLite adapter, except that it tells Kysely not to put its own mutex around the
 * connection: {@link ImmediateSqliteDriver} serializes the connection itself.
 */
class SerializedSqliteAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

type NodeSqlite = typeof import('node:sqlite');

/** How many prepared statements one connection keeps for reuse. */
const PREPARED_STATEMENT_CACHE_SIZE = 256;

/**
 * Opens `file` with Node's built-in `node:sqlite` and adapts it to the interface Kysely's
 * SQLite dialect expects (the same bridge as MikroORM's `NodeSqliteDialect`).
 */
function openNodeSqlite(file: string, options: Required<SwlSqliteOptions>) {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as NodeSqlite;
  const db = new DatabaseSync(file, { timeout: options.busyTimeoutMs });
  db.exec(`pragma busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  if (options.wal && file !== ':memory:' && file !== '') {
    db.exec('pragma journal_mode = wal');
  }
  db.exec('pragma foreign_keys = on');
  // Prepared statements, reused by their SQL text (least recently used first out). Typed Kysely
  // queries and the benchmark's hand-written ones repeat their text with parameters; MikroORM
  // 7.2.1 inlines its parameters as literals (mikro-orm#8001), so its statements rarely repeat.
  const cache = new Map<string, { stmt: ReturnType<typeof db.prepare>; reader: boolean }>();
  const prepared = (sql: string) => {
    let entry = cache.get(sql);
    if (entry) {
      cache.delete(sql);
    } else {
      entry = {
        stmt: db.prepare(sql),
        reader: /^\s*(select|pragma|explain|with)/i.test(sql) || /\breturning\b/i.test(sql),
      };
      if (cache.size >= PREPARED_STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, entry);
    return entry;
  };
  return {
    prepare(sql: string) {
      const { stmt, reader } = prepared(sql);
      return {
        reader,
        // biome-ignore lint/suspicious/noExplicitAny: parameters are already driver values
        all: (params: readonly any[]) => stmt.all(...params),
        // biome-ignore lint/suspicious/noExplicitAny: parameters are already driver values
        run: (params: readonly any[]) => stmt.run(...params),
        // biome-ignore lint/suspicious/noExplicitAny: parameters are already driver values
        get: (params: readonly any[]) => stmt.get(...params),
        // biome-ignore lint/suspicious/noExplicitAny: parameters are already driver values
        iterate: (params: readonly any[]) => stmt.iterate(...params),
      };
    },
    close() {
      cache.clear();
      db.close();
    },
  };
}

/**
 * A Kysely dialect for SQLite files through Node's built-in `node:sqlite` (no native addon to
 * build), set up the way docs/DESIGN.md §7 asks for concurrent use of one file:
 *
 * - write transactions start with `BEGIN IMMEDIATE`, so two writers (even in two processes)
 *   queue on the file's write lock instead of failing mid-transaction with "database is locked";
 * - write-ahead logging (`journal_mode = wal`), so readers never block the writer;
 * - a busy timeout (default 5000 ms) after which a waiting writer fails; the services turn that
 *   into `CONFLICT`, and the connection is free again at once for the next query (a retry
 *   included) — it is not left held by the failed `BEGIN`;
 * - foreign keys enforced (`foreign_keys = on`).
 *
 * Pass it as MikroORM's `driverOptions` with the `SqliteDriver` of `@mikro-orm/sql`:
 *
 * @example
 * ```ts
 * import { SqliteDriver } from '@mikro-orm/sql';
 * const orm = await MikroORM.init({
 *   driver: SqliteDriver, dbName: 'instance/app.db',
 *   driverOptions: new SwlSqliteDialect('instance/app.db'),
 *   entities: [...swlEntities],
 * });
 * ```
 *
 * Source: docs/DESIGN.md §7; SQLite "Transactions" (`BEGIN IMMEDIATE`, sqlite.org/lang_transaction.html)
 * and "Write-Ahead Logging" (sqlite.org/wal.html).
 */
export class SwlSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  /**
   * @param file - path of the database file, or `:memory:`.
   * @param options - busy timeout (ms) and WAL switch; see {@link SwlSqliteOptions}.
   */
  constructor(file: string, options: SwlSqliteOptions = {}) {
    const resolved = { busyTimeoutMs: options.busyTimeoutMs ?? 5000, wal: options.wal ?? true };
    // biome-ignore lint/suspicious/noExplicitAny: the bridge implements the subset Kysely uses
    const config: SqliteDialectConfig = { database: async () => openNodeSqlite(file, resolved) as any };
    super(config);
    this.#config = config;
  }

  /**
   * The driver: `BEGIN IMMEDIATE`, and one query or transaction at a time on the single
   * connection, released again when a `BEGIN` fails (busy timeout) so that the next query runs.
   */
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }

  /**
   * Kysely's SQLite adapter, reporting `supportsMultipleConnections` so that Kysely adds no
   * connection mutex of its own: the driver above serializes the connection instead.
   */
  override createAdapter(): DialectAdapter {
    return new SerializedSqliteAdapter();
  }
}
