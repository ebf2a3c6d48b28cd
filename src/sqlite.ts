import { createRequire } from 'node:module';
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
import { configurationError } from './internal/translate-error.ts';

/**
 * The SQLite libraries {@link SwlSqliteDialect} can open a file with:
 *
 * - `'node:sqlite'` — Node's built-in module: nothing to install or build (the default);
 * - `'@mikro-orm/sqlite'` — MikroORM's standard SQLite driver package, which brings the
 *   `better-sqlite3` native addon (N-API prebuilds inside the npm package). Install it with
 *   `npm install --save-exact @mikro-orm/sqlite@7.2.1`.
 *
 * Both get the same settings and the same guarantees (see {@link SwlSqliteDialect}).
 */
export type SwlSqliteDriverName = 'node:sqlite' | '@mikro-orm/sqlite';

/** Every {@link SwlSqliteDriverName}, default first. */
export const SWL_SQLITE_DRIVERS = [
  'node:sqlite',
  '@mikro-orm/sqlite',
] as const satisfies readonly SwlSqliteDriverName[];

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
  /**
   * The SQLite library that opens the file. Default `'node:sqlite'`; `'@mikro-orm/sqlite'`
   * needs that package installed (it brings `better-sqlite3`).
   */
  driver?: SwlSqliteDriverName;
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

/** The part of a prepared statement the bridge uses; `node:sqlite` and `better-sqlite3` both have it. */
interface NativeStatement {
  /** `better-sqlite3` only: whether the statement returns rows. */
  readonly reader?: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  iterate(...params: unknown[]): IterableIterator<unknown>;
}

/** The part of an open database the bridge uses. */
interface NativeDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): NativeStatement;
  close(): unknown;
}

/** `better-sqlite3`'s constructor, as far as it is used here. */
type BetterSqlite3 = new (file: string, options: { timeout: number }) => NativeDatabase;

/**
 * Loads `better-sqlite3` the way `@mikro-orm/sqlite` does: resolved from that package, so the
 * host needs only `@mikro-orm/sqlite` in its dependencies (and whatever copy it brings is used).
 * @throws SwlError `CONFIGURATION` when `@mikro-orm/sqlite` is not installed.
 * @internal
 */
export function loadBetterSqlite3<T = BetterSqlite3>(): T {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve('@mikro-orm/sqlite/package.json');
  } catch (error) {
    throw configurationError(
      '@mikro-orm/sqlite is not installed; the SQLite driver "@mikro-orm/sqlite" needs it',
      { package: '@mikro-orm/sqlite', fix: 'npm install --save-exact @mikro-orm/sqlite@7.2.1' },
      error,
    );
  }
  return createRequire(manifest)('better-sqlite3') as T;
}

/** Opens `file` with the chosen library and applies the settings of {@link SwlSqliteDialect}. */
function openNative(file: string, options: Required<SwlSqliteOptions>): NativeDatabase {
  const timeout = Math.trunc(options.busyTimeoutMs);
  let db: NativeDatabase;
  if (options.driver === '@mikro-orm/sqlite') {
    const Database = loadBetterSqlite3<BetterSqlite3>();
    db = new Database(file, { timeout });
  } else {
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as NodeSqlite;
    db = new DatabaseSync(file, { timeout }) as unknown as NativeDatabase;
  }
  db.exec(`pragma busy_timeout = ${timeout}`);
  if (options.wal && file !== ':memory:' && file !== '') {
    db.exec('pragma journal_mode = wal');
  }
  db.exec('pragma foreign_keys = on');
  return db;
}

/**
 * Opens `file` with `node:sqlite` or `better-sqlite3` and adapts it to the interface Kysely's
 * SQLite dialect expects (the same bridge as MikroORM's `NodeSqliteDialect`).
 */
function openSqlite(file: string, options: Required<SwlSqliteOptions>) {
  const db = openNative(file, options);
  // Prepared statements, reused by their SQL text (least recently used first out). Typed Kysely
  // queries and the benchmark's hand-written ones repeat their text with parameters; MikroORM
  // 7.2.1 inlines its parameters as literals (mikro-orm#8001), so its statements rarely repeat.
  const cache = new Map<string, { stmt: NativeStatement; reader: boolean }>();
  const prepared = (sql: string) => {
    let entry = cache.get(sql);
    if (entry) {
      cache.delete(sql);
    } else {
      const stmt = db.prepare(sql);
      entry = {
        stmt,
        // better-sqlite3 knows; node:sqlite does not say, so the statement's text decides.
        reader: stmt.reader ?? (/^\s*(select|pragma|explain|with)/i.test(sql) || /\breturning\b/i.test(sql)),
      };
      if (cache.size >= PREPARED_STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, entry);
    return entry;
  };
  // node:sqlite binds a boolean as the integer 1 or 0; better-sqlite3 refuses one ("can only bind
  // numbers, strings, bigints, buffers, and null"): bind it as node:sqlite does, on both.
  const bind =
    options.driver === '@mikro-orm/sqlite'
      ? (params: readonly unknown[]) =>
          params.some((p) => typeof p === 'boolean')
            ? params.map((p) => (typeof p === 'boolean' ? Number(p) : p))
            : params
      : (params: readonly unknown[]) => params;
  return {
    prepare(sql: string) {
      const { stmt, reader } = prepared(sql);
      return {
        reader,
        all: (params: readonly unknown[]) => stmt.all(...bind(params)),
        run: (params: readonly unknown[]) => stmt.run(...bind(params)),
        get: (params: readonly unknown[]) => stmt.get(...bind(params)),
        iterate: (params: readonly unknown[]) => stmt.iterate(...bind(params)),
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
 * build) or, with `driver: '@mikro-orm/sqlite'`, through the `better-sqlite3` addon that
 * `@mikro-orm/sqlite` brings — set up, on either, the way docs/DESIGN.md §7 asks for concurrent
 * use of one file:
 *
 * - write transactions start with `BEGIN IMMEDIATE`, so two writers (even in two processes)
 *   queue on the file's write lock instead of failing mid-transaction with "database is locked";
 * - write-ahead logging (`journal_mode = wal`), so readers never block the writer;
 * - a busy timeout (default 5000 ms) after which a waiting writer fails; the services turn that
 *   into `CONFLICT`, and the connection is free again at once for the next query (a retry
 *   included) — it is not left held by the failed `BEGIN`;
 * - foreign keys enforced (`foreign_keys = on`).
 *
 * `swlOrmConfig` sets it up for you. By hand, pass it as MikroORM's `driverOptions`, with the
 * `SqliteDriver` of `@mikro-orm/sql` (or that of `@mikro-orm/sqlite`, with
 * `driver: '@mikro-orm/sqlite'`): MikroORM then uses this dialect instead of opening the file its
 * own way, which with `@mikro-orm/sqlite` alone means rollback-journal mode and deferred
 * transactions — two processes writing at once then fail with "database is locked".
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
   * @param options - busy timeout (ms), WAL switch and SQLite library; see {@link SwlSqliteOptions}.
   * @throws SwlError `CONFIGURATION` (when the ORM connects) for `driver: '@mikro-orm/sqlite'`
   *   without that package installed.
   */
  constructor(file: string, options: SwlSqliteOptions = {}) {
    const resolved: Required<SwlSqliteOptions> = {
      busyTimeoutMs: options.busyTimeoutMs ?? 5000,
      wal: options.wal ?? true,
      driver: options.driver ?? 'node:sqlite',
    };
    // biome-ignore lint/suspicious/noExplicitAny: the bridge implements the subset Kysely uses
    const config: SqliteDialectConfig = { database: async () => openSqlite(file, resolved) as any };
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
