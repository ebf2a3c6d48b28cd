import {
  CompiledQuery,
  type DatabaseConnection,
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

/** Kysely's SQLite driver, but write transactions start with `BEGIN IMMEDIATE`. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

type NodeSqlite = typeof import('node:sqlite');

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
  return {
    prepare(sql: string) {
      const stmt = db.prepare(sql);
      return {
        reader: /^\s*(select|pragma|explain|with)/i.test(sql) || /\breturning\b/i.test(sql),
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
      db.close();
    },
  };
}

/**
 * A Kysely dialect for SQLite files through Node's built-in `node:sqlite` (no native addon to
 * build), set up the way DESIGN §7 asks for concurrent use of one file:
 *
 * - write transactions start with `BEGIN IMMEDIATE`, so two writers (even in two processes)
 *   queue on the file's write lock instead of failing mid-transaction with "database is locked";
 * - write-ahead logging (`journal_mode = wal`), so readers never block the writer;
 * - a busy timeout (default 5000 ms) after which a waiting writer fails; the services turn that
 *   into `CONFLICT`;
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
 * Source: DESIGN §7; MikroORM brief §5 ("SQLite, several processes on one file").
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

  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
