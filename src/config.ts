/**
 * Database selection and MikroORM configuration, as the original system did it: `DATABASE_URL`
 * decides. Source: docs/DESIGN.md §8; `docs/legacy/000_266b31aaf8610e4d.txt` "Database Options"
 * (SQLite `instance/app.db` when `DATABASE_URL` is not set, PostgreSQL in production).
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MikroORM, type Options, Utils } from '@mikro-orm/core';
import { SqliteDriver } from '@mikro-orm/sql';
import { swlEntities, swlOnMetadata } from './entities/index.ts';
import { SwlError } from './errors.ts';
import { MIN_NODE_VERSION as NODE_MINIMUM } from './internal/node-version.ts';
import { configurationError, convertDriverError, toSwlError } from './internal/translate-error.ts';
import { preparePostgresStatements } from './postgres.ts';
import { SwlSqliteDialect, type SwlSqliteDriverName, type SwlSqliteOptions } from './sqlite.ts';

/** The SQL dialects the package supports. */
export type SwlDialectName = 'sqlite' | 'postgresql';

/** Where the data lives, as decided from `DATABASE_URL`. */
export type SwlDatabase =
  | {
      dialect: 'sqlite';
      /** Absolute path of the database file (or `:memory:`). */
      file: string;
      /**
       * The SQLite library the URL names (`sqlite+node-sqlite:…` → `'node:sqlite'`,
       * `sqlite+better-sqlite3:…` → `'@mikro-orm/sqlite'`); absent when it names none.
       */
      driver?: SwlSqliteDriverName;
    }
  | {
      dialect: 'postgresql';
      /** The connection URL as given (`postgres://…` or `postgresql://…`). */
      url: string;
    };

/** The default SQLite file when `DATABASE_URL` is not set, relative to the working directory. */
export const DEFAULT_SQLITE_FILE = 'instance/app.db';

/**
 * Decides the database from a `DATABASE_URL`-style string:
 *
 * | value | database |
 * |---|---|
 * | unset or blank | SQLite file `instance/app.db` under `cwd` |
 * | `postgres://…`, `postgresql://…` | PostgreSQL at that URL |
 * | `sqlite::memory:` or `:memory:` | in-memory SQLite |
 * | `sqlite:///abs/path.db`, `sqlite://rel/path.db`, `sqlite:rel/path.db`, `file:…` | that SQLite file |
 * | `sqlite+better-sqlite3:…`, `sqlite+node-sqlite:…` (SQLAlchemy's `dialect+driver` form) | that SQLite file, opened with `@mikro-orm/sqlite` (better-sqlite3) or `node:sqlite` |
 * | a plain path (`data/app.db`, `/var/lib/swl/app.db`) | that SQLite file |
 *
 * Relative paths resolve against `cwd`. Pure: creates nothing.
 *
 * @param databaseUrl - the value; default `process.env.DATABASE_URL`.
 * @param cwd - base for relative paths; default `process.cwd()`.
 * @throws SwlError `VALIDATION_FAILED` for another URL scheme (e.g. `mysql://`).
 */
export function resolveDatabase(
  databaseUrl: string | undefined = process.env.DATABASE_URL,
  cwd: string = process.cwd(),
): SwlDatabase {
  const value = databaseUrl?.trim() ?? '';
  if (value === '') return { dialect: 'sqlite', file: resolve(cwd, DEFAULT_SQLITE_FILE) };
  if (/^postgres(ql)?:\/\//i.test(value)) return { dialect: 'postgresql', url: value };
  const named = /^sqlite\+([a-z0-9-]+):/i.exec(value);
  let driver: SwlSqliteDriverName | undefined;
  if (named) {
    const library = (named[1] as string).toLowerCase();
    driver = SQLITE_URL_DRIVERS[library];
    if (!driver) {
      throw new SwlError('VALIDATION_FAILED', 'DATABASE_URL names an unknown SQLite driver', {
        driver: library,
        known: Object.keys(SQLITE_URL_DRIVERS),
      });
    }
  }
  const withDriver = (database: { dialect: 'sqlite'; file: string }): SwlDatabase =>
    driver ? { ...database, driver } : database;
  if (value === ':memory:' || /^sqlite(\+[a-z0-9-]+)?::memory:$/i.test(value))
    return withDriver({ dialect: 'sqlite', file: ':memory:' });
  let path: string;
  if (/^sqlite(\+[a-z0-9-]+)?:/i.test(value)) {
    path = value.replace(/^sqlite(\+[a-z0-9-]+)?:(\/\/)?/i, '');
    // sqlite:///abs → "/abs"; sqlite://rel → "rel"; sqlite:rel → "rel"
  } else if (/^file:/i.test(value)) {
    path = fileURLToPath(value.startsWith('file://') ? value : `file://${resolve(cwd, value.slice(5))}`);
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new SwlError('VALIDATION_FAILED', 'DATABASE_URL must be a PostgreSQL URL or a SQLite file', {
      scheme: value.slice(0, value.indexOf(':')),
    });
  } else {
    path = value;
  }
  if (path === '') throw new SwlError('VALIDATION_FAILED', 'DATABASE_URL names no SQLite file', {});
  return withDriver({ dialect: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) });
}

/** The driver names a `sqlite+<name>:` URL may carry, and the SQLite library each picks. */
const SQLITE_URL_DRIVERS: Readonly<Record<string, SwlSqliteDriverName>> = {
  'node-sqlite': 'node:sqlite',
  'better-sqlite3': '@mikro-orm/sqlite',
};

/** Options of {@link swlOrmConfig}. */
export interface SwlOrmConfigOptions {
  /** `DATABASE_URL`-style string; default `process.env.DATABASE_URL` (see {@link resolveDatabase}). */
  databaseUrl?: string;
  /** Base for relative SQLite paths; default `process.cwd()`. */
  cwd?: string;
  /**
   * SQLite busy timeout, WAL and library (`driver`: `'node:sqlite'`, the default, or
   * `'@mikro-orm/sqlite'`). A `DATABASE_URL` of the form `sqlite+<driver>:…` overrides `driver`.
   */
  sqlite?: SwlSqliteOptions;
  /** Extra entities of the host, registered beside the package's. */
  entities?: NonNullable<Options['entities']>;
  /**
   * Where the host's own migrations live: the folder MikroORM's `migration:create` writes to and
   * whose files run after the package's migrations (see {@link SwlMigrationsOptions}).
   */
  migrations?: SwlMigrationsOptions;
  /** The CLI's default seeder and the host's own seeders (see {@link SwlSeederOptions}). */
  seeder?: SwlSeederOptions;
  /**
   * Extra MikroORM options merged last (e.g. `debug`, `pool`). A top-level key replaces the
   * package's whole value: `overrides.migrations` drops the package's migration list, so set
   * folders with {@link SwlOrmConfigOptions.migrations} instead.
   */
  overrides?: Partial<Options>;
}

/** The host's migrations folder when {@link SwlMigrationsOptions.path} is not given, relative to `cwd`. */
export const DEFAULT_MIGRATIONS_FOLDER = 'migrations';

/**
 * The host's own migrations folder, for {@link swlOrmConfig}. MikroORM's `migrationsList` (how the
 * package ships its migrations) switches MikroORM's folder discovery off, so `swlOrmConfig`
 * discovers the folder itself when it builds the configuration: every migration file there
 * (`discoverHostMigrations` of `swl-library/migrations`: `.ts`/`.js`/`.cjs`, not `*.d.ts` nor
 * `index.*`, recorded under the file name without extension) is appended to the list after the
 * package's migrations, ordered by name. The same folder is MikroORM's `migrations.path` /
 * `pathTs`, so a file `migration:create` writes is applied by the next `migration:up`.
 */
export interface SwlMigrationsOptions {
  /**
   * The folder, relative to {@link SwlOrmConfigOptions.cwd} (or absolute): MikroORM's
   * `migrations.path`, the compiled (`.js`) migrations. Default {@link DEFAULT_MIGRATIONS_FOLDER}
   * (`migrations`). A folder that does not exist holds no migrations; `migration:create` makes it.
   */
  path?: string;
  /**
   * The folder of the TypeScript sources of the migrations, MikroORM's `migrations.pathTs`, used
   * instead of `path` when running under TypeScript (`overrides.preferTs`, else MikroORM's
   * detection: the CLI, vitest, ts-node/tsx, a `.ts` entry script) and where `migration:create`
   * writes `.ts` files. Default: `path`.
   */
  pathTs?: string;
  /**
   * Discover the folder's files (default `true`). `false` runs only the package's migrations (and
   * whatever `overrides` add); `migration:create` still writes into the folder.
   */
  discover?: boolean;
}

/** The seeder part of {@link swlOrmConfig}. */
export interface SwlSeederOptions {
  /**
   * The seeder the CLI's `seeder:run` runs without `--class` (MikroORM `seeder.defaultSeeder`, a
   * name in the seeder list). Default `SWL_DEFAULT_SEEDER` (`'SwlDatabaseSeeder'`: admin,
   * policies and the default inventory, whatever is missing).
   */
  defaultSeeder?: string;
  /**
   * The host's own seeders (`{ name, class }` or classes), listed after the package's three
   * (`swlSeeders()`), for `seeder:run --class <name>`. MikroORM's `seedersList` switches seeder
   * folder discovery off, so seeders in files must be listed here.
   */
  seedersList?: NonNullable<NonNullable<Options['seeder']>['seedersList']>;
}

/**
 * A complete MikroORM configuration for the package: driver chosen by `DATABASE_URL`, the
 * package's entities (plus the host's), its migrations for that dialect (class list, no snapshot
 * files) and its seeders. For SQLite the file's folder is created (`instance/` by default).
 *
 * Requires `@mikro-orm/migrations` and `@mikro-orm/seeder`; for PostgreSQL also
 * `@mikro-orm/postgresql`, for the `@mikro-orm/sqlite` SQLite driver that package. They are
 * loaded on demand, so SQLite-only hosts need no PostgreSQL driver.
 *
 * Ready for the MikroORM CLI (`@mikro-orm/cli`): `seeder:run` without `--class` runs
 * `SwlDatabaseSeeder`; `migration:create` writes into the host's migrations folder
 * ({@link SwlOrmConfigOptions.migrations}, default `migrations` under `cwd`), and the files there
 * run after the package's migrations (discovered when this is called; see
 * {@link SwlMigrationsOptions}).
 *
 * SQLite opens through {@link SwlSqliteDialect} whichever library is chosen (`node:sqlite` by
 * default; `@mikro-orm/sqlite` by `sqlite.driver` or a `sqlite+better-sqlite3:` URL): WAL, busy
 * timeout, `BEGIN IMMEDIATE`, foreign keys, on both.
 *
 * @example
 * ```ts
 * const orm = await MikroORM.init(await swlOrmConfig());   // DATABASE_URL or instance/app.db
 * await initializeDatabase(orm);
 * ```
 * @throws SwlError `VALIDATION_FAILED` for an unsupported `DATABASE_URL`; `CONFIGURATION` for Node
 *   older than 22.17, a PostgreSQL URL without `@mikro-orm/postgresql` installed, the
 *   `@mikro-orm/sqlite` driver without that package, a file of the host's migrations folder that
 *   cannot be imported or is not one migration class (`details.file`), or a host migration named
 *   like one of the package's (`details.migration`).
 */
export async function swlOrmConfig(options: SwlOrmConfigOptions = {}): Promise<Options> {
  assertSupportedNode();
  const database = resolveDatabase(options.databaseUrl ?? process.env.DATABASE_URL, options.cwd);
  const [{ Migrator }, { SeedManager }, { swlMigrations, discoverHostMigrations }, seeders] =
    await Promise.all([
      import('@mikro-orm/migrations'),
      import('@mikro-orm/seeder'),
      import('../migrations/index.ts'),
      import('../seeders/index.ts'),
    ]);
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, options.migrations?.path ?? DEFAULT_MIGRATIONS_FOLDER);
  const pathTs = options.migrations?.pathTs === undefined ? path : resolve(cwd, options.migrations.pathTs);
  // the folder MikroORM's own discovery would read (AbstractMigrator.resolvePaths)
  const preferTs = options.overrides?.preferTs ?? Utils.detectTypeScriptSupport();
  const ours = swlMigrations(database.dialect);
  const hosts =
    options.migrations?.discover === false
      ? []
      : await discoverHostMigrations(preferTs ? pathTs : path, { preferTs });
  const clash = hosts.find((h) => ours.some((m) => m.name === h.name));
  if (clash) {
    throw configurationError(`the host migration ${clash.name} has the name of one of the package's`, {
      migration: clash.name,
      fix: 'rename the file (and its class name) in the migrations folder; names starting with Swl are the package’s',
    });
  }
  const common: Partial<Options> = {
    entities: [...swlEntities, ...(options.entities ?? [])],
    extensions: [Migrator, SeedManager],
    migrations: {
      // ours first, in their order; then the host's files, by name
      migrationsList: [...ours, ...hosts],
      path,
      pathTs,
      snapshot: false,
      // SQLite: table-rebuild migrations cannot run in one enclosing transaction (SQLite's ALTER TABLE
      // procedure, sqlite.org/lang_altertable.html; MikroORM `migrations.allOrNothing`).
      allOrNothing: database.dialect === 'postgresql',
      silent: true,
    },
    seeder: {
      seedersList: [...seeders.swlSeeders(), ...(options.seeder?.seedersList ?? [])],
      defaultSeeder: options.seeder?.defaultSeeder ?? seeders.SWL_DEFAULT_SEEDER,
    },
    allowGlobalContext: false,
    // PostgreSQL: the reservations' exclusion constraint is part of the schema (src/entities/reservation.entity.ts).
    discovery: { onMetadata: swlOnMetadata },
  };
  if (database.dialect === 'sqlite') {
    const library = database.driver ?? options.sqlite?.driver ?? 'node:sqlite';
    const driver =
      library === '@mikro-orm/sqlite'
        ? (
            await importDriverPackage(
              () => import('@mikro-orm/sqlite'),
              '@mikro-orm/sqlite',
              'the SQLite driver "@mikro-orm/sqlite"',
            )
          ).SqliteDriver
        : SqliteDriver;
    if (database.file !== ':memory:') mkdirSync(dirname(database.file), { recursive: true });
    return {
      ...common,
      driver,
      dbName: database.file,
      driverOptions: new SwlSqliteDialect(database.file, { ...options.sqlite, driver: library }),
      ...options.overrides,
    } as Options;
  }
  const { PostgreSqlDriver } = await importDriverPackage(() => import('@mikro-orm/postgresql'));
  return {
    ...common,
    driver: PostgreSqlDriver,
    clientUrl: database.url,
    driverOptions: { onPoolCreated: preparePostgresStatements },
    ...options.overrides,
  } as Options;
}

/**
 * `MikroORM.init(await swlOrmConfig(options))`: an ORM for the package's database, chosen by
 * `DATABASE_URL`. Close it with `orm.close()`.
 *
 * @example
 * ```ts
 * const orm = await openSwlOrm();
 * const report = await initializeDatabase(orm);
 * ```
 * The connection is checked before it returns: credentials the server refuses are `CONFIGURATION`
 * (with `details.fix`), an unreachable server `UNAVAILABLE`.
 * @throws SwlError `VALIDATION_FAILED` for an unsupported `DATABASE_URL`; `CONFIGURATION` (Node
 *   older than 22.17, `@mikro-orm/postgresql` not installed, credentials refused);
 *   `UNAVAILABLE` (the server cannot be reached).
 */
export async function openSwlOrm(options: SwlOrmConfigOptions = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(await swlOrmConfig(options));
  try {
    await orm.em.getConnection().execute('select 1');
  } catch (error) {
    await orm.close(true).catch(() => {});
    throw toSwlError(convertDriverError(orm.em, error));
  }
  return orm;
}

/** The oldest Node the package runs on (MikroORM 7's own minimum). */
export const MIN_NODE_VERSION: string = NODE_MINIMUM;

/**
 * Refuses a Node older than {@link MIN_NODE_VERSION}, on which MikroORM 7 fails in ways that do not
 * name the cause.
 * @param version - a Node version (default: the running one, `process.versions.node`).
 * @throws SwlError `CONFIGURATION` naming the version found and the one needed.
 * @internal
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const [needMajor = 0, needMinor = 0] = MIN_NODE_VERSION.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return;
  throw configurationError(`swl-library needs Node ${MIN_NODE_VERSION} or newer; this is Node ${version}`, {
    node: version,
    required: `>=${MIN_NODE_VERSION}`,
    fix: `run on Node ${MIN_NODE_VERSION} or newer (Node 24 LTS recommended)`,
  });
}

/**
 * Imports an optional driver package, turning a missing one into `CONFIGURATION` with the install
 * command (instead of a raw `ERR_MODULE_NOT_FOUND`).
 * @internal
 */
export async function importDriverPackage<T>(
  load: () => Promise<T>,
  name = '@mikro-orm/postgresql',
  neededBy = 'PostgreSQL',
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw configurationError(
        `${name} is not installed; ${neededBy} needs it`,
        { package: name, fix: `npm install --save-exact ${name}@7.2.1` },
        error,
      );
    }
    throw error;
  }
}
