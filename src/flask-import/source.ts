/**
 * Reading the five tables of the original SWL Flask application (`user`, `catalog`,
 * `item_instance`, `loan`, `library_log`; schema of `docs/legacy/000_266b31aaf8610e4d.txt`) from
 * its SQLite file, opened read-only with `node:sqlite`. Every value is read as the source holds
 * it: dates as their naive-UTC text, `final_penalty` as the float it is.
 *
 * @module
 * @internal
 */
import { existsSync } from 'node:fs';
import { SwlError } from '../errors.ts';

/** A row of the source's `user` table. @internal */
export interface FlaskUserRow {
  id: number;
  email: string | null;
  document_id: string;
  full_name: string;
  phone: string | null;
  role: string;
  program_name: string | null;
  password_hash: string | null;
}

/** A row of the source's `catalog` table. @internal */
export interface FlaskCatalogRow {
  id: number;
  title_or_name: string;
  category: string;
  author_or_brand: string | null;
}

/** A row of the source's `item_instance` table. @internal */
export interface FlaskInstanceRow {
  id: number;
  catalog_id: number | null;
  unique_code: string;
  status: string | null;
  condition: string | null;
}

/** A row of the source's `loan` table (dates as the source's text). @internal */
export interface FlaskLoanRow {
  id: number;
  user_id: number | null;
  instance_id: number | null;
  environment: string | null;
  request_date: string | null;
  approval_date: string | null;
  due_date: string | null;
  return_date: string | null;
  status: string | null;
  observation: string | null;
  final_penalty: number | null;
}

/** A row of the source's `library_log` table. @internal */
export interface FlaskLogRow {
  id: number;
  visitor_name: string;
  visitor_id: string;
  role: string;
  entry_time: string | null;
  activity: string;
}

/** The whole source, table by table, in id order. @internal */
export interface FlaskTables {
  user: FlaskUserRow[];
  catalog: FlaskCatalogRow[];
  item_instance: FlaskInstanceRow[];
  loan: FlaskLoanRow[];
  library_log: FlaskLogRow[];
}

/** The five tables of the original schema, in the order they are read and written. */
export const FLASK_TABLES = ['user', 'catalog', 'item_instance', 'loan', 'library_log'] as const;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const int = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The five tables' raw rows (as either driver returns them: numbers or numeric strings, `null` or
 * `undefined`) as {@link FlaskTables}, the same way for both source kinds.
 */
function decodeFlaskRows(raw: Record<(typeof FLASK_TABLES)[number], Record<string, unknown>[]>): FlaskTables {
  return {
    user: raw.user.map((r) => ({
      id: Number(r.id),
      email: text(r.email),
      document_id: String(r.document_id),
      full_name: String(r.full_name),
      phone: text(r.phone),
      role: String(r.role),
      program_name: text(r.program_name),
      password_hash: text(r.password_hash),
    })),
    catalog: raw.catalog.map((r) => ({
      id: Number(r.id),
      title_or_name: String(r.title_or_name),
      category: String(r.category),
      author_or_brand: text(r.author_or_brand),
    })),
    item_instance: raw.item_instance.map((r) => ({
      id: Number(r.id),
      catalog_id: int(r.catalog_id),
      unique_code: String(r.unique_code),
      status: text(r.status),
      condition: text(r.condition),
    })),
    loan: raw.loan.map((r) => ({
      id: Number(r.id),
      user_id: int(r.user_id),
      instance_id: int(r.instance_id),
      environment: text(r.environment),
      request_date: text(r.request_date),
      approval_date: text(r.approval_date),
      due_date: text(r.due_date),
      return_date: text(r.return_date),
      status: text(r.status),
      observation: text(r.observation),
      final_penalty:
        r.final_penalty === null || r.final_penalty === undefined ? null : Number(r.final_penalty),
    })),
    library_log: raw.library_log.map((r) => ({
      id: Number(r.id),
      visitor_name: String(r.visitor_name),
      visitor_id: String(r.visitor_id),
      role: String(r.role),
      entry_time: text(r.entry_time),
      activity: String(r.activity),
    })),
  };
}

/**
 * Reads the five tables from a SQLite file of the Flask application, opened read-only (the file is
 * never written). Throws `NOT_FOUND` for a missing file, `VALIDATION_FAILED` when a table is missing.
 * @internal
 */
export function readFlaskSqlite(path: string): FlaskTables {
  if (!existsSync(path)) throw new SwlError('NOT_FOUND', `there is no file ${path}`, { file: path });
  // Loaded at run time (`process.getBuiltinModule`), as src/cli/transfer/sqlite-native.ts does: the
  // bundler would otherwise rewrite the `node:sqlite` specifier to a package named `sqlite`.
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const present = new Set(
      (db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map(
        (r) => r.name,
      ),
    );
    const missing = FLASK_TABLES.filter((t) => !present.has(t));
    if (missing.length > 0) {
      throw new SwlError(
        'VALIDATION_FAILED',
        `${path} is not a database of the SWL Flask application: no table ${missing.join(', ')}`,
        { file: path, missing },
      );
    }
    const all = (table: string) =>
      db.prepare(`select * from "${table}" order by id`).all() as Record<string, unknown>[];
    return decodeFlaskRows({
      user: all('user'),
      catalog: all('catalog'),
      item_instance: all('item_instance'),
      loan: all('loan'),
      library_log: all('library_log'),
    });
  } finally {
    db.close();
  }
}

/** True when `source` is a PostgreSQL URL (`postgres://…`, `postgresql://…`). @internal */
export const isPostgresUrl = (source: string): boolean => /^postgres(ql)?:\/\//i.test(source);

/** A PostgreSQL URL without its password, for reports. @internal */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://…';
  }
}

/**
 * Reads the five tables from a PostgreSQL database of the Flask application, in one read-only
 * transaction (`set transaction read only`: nothing can be written), dates as their text (`::text`:
 * the naive `timestamp without time zone` value, never shifted by a time zone), through
 * `@mikro-orm/postgresql`. Throws `CONFIGURATION`/`UNAVAILABLE` as `openSwlOrm` does, and
 * `VALIDATION_FAILED` when a table is missing.
 * @internal
 */
export async function readFlaskPostgres(url: string): Promise<FlaskTables> {
  const { importDriverPackage } = await import('../config.ts');
  const { PostgreSqlDriver } = await importDriverPackage(() => import('@mikro-orm/postgresql'));
  const { MikroORM } = await import('@mikro-orm/core');
  const orm = await MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: url,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
  } as never);
  try {
    return await orm.em.fork().transactional(async (tx) => {
      const conn = tx.getConnection();
      const ctx = tx.getTransactionContext();
      const q = async (sql: string) => (await conn.execute(sql, [], 'all', ctx)) as Record<string, unknown>[];
      await q('set transaction read only');
      const present = new Set(
        (
          await q('select table_name from information_schema.tables where table_schema = current_schema()')
        ).map((r) => String(r.table_name)),
      );
      const missing = FLASK_TABLES.filter((t) => !present.has(t));
      if (missing.length > 0) {
        throw new SwlError(
          'VALIDATION_FAILED',
          `${redactUrl(url)} is not a database of the SWL Flask application: no table ${missing.join(', ')}`,
          { missing },
        );
      }
      const ts = (c: string) => `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US') as ${c}`;
      const user = await q(
        'select id, email, document_id, full_name, phone, role, program_name, password_hash from "user" order by id',
      );
      const catalog = await q('select id, title_or_name, category, author_or_brand from catalog order by id');
      const instance = await q(
        'select id, catalog_id, unique_code, status, condition from item_instance order by id',
      );
      const loan = await q(
        `select id, user_id, instance_id, environment, ${ts('request_date')}, ${ts('approval_date')}, ${ts('due_date')},
                ${ts('return_date')}, status, observation, final_penalty::float8 as final_penalty from loan order by id`,
      );
      const log = await q(
        `select id, visitor_name, visitor_id, role, ${ts('entry_time')}, activity from library_log order by id`,
      );
      return decodeFlaskRows({ user, catalog, item_instance: instance, loan, library_log: log });
    });
  } finally {
    await orm.close(true);
  }
}
