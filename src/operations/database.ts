/**
 * Operator figures and upkeep of the database: its size, rows per table, loans by status, the
 * visitor-log retention count, and the planner/storage maintenance of the original system's
 * "Database Maintenance" chapter (`ANALYZE`, `VACUUM`). Used by `swl stats`, `swl maintain` and
 * `swl visits purge`.
 *
 * Source: docs/legacy/000_266b31aaf8610e4d.txt "Database Maintenance" (Checking Database Size,
 * Cleaning Up Old Data, Optimizing PostgreSQL); issue 14.
 *
 * @module
 * @internal
 */
import { stat } from 'node:fs/promises';
import type { EntityManager } from '@mikro-orm/core';
import { isPostgres } from '../db/dialect.ts';
import { LOAN_STATUSES, type LoanStatus } from '../domain/vocabulary.ts';
import { swlEntities } from '../entities/index.ts';
import { LibraryLog } from '../entities/library-log.entity.ts';
import { Loan } from '../entities/loan.entity.ts';

/** One day in milliseconds: the visitor-log retention counts in 24-hour days (as `purge`). */
export const DAY_MS = 86_400_000;

/** The size of the database. */
export interface DatabaseSize {
  dialect: 'sqlite' | 'postgresql';
  /**
   * Total bytes: PostgreSQL `pg_database_size(current_database())`; SQLite `page_count × page_size`
   * plus the write-ahead log file (`<file>-wal`), when there is one.
   */
  bytes: number;
  /** SQLite: the database file. */
  file?: string;
  /** SQLite: `page_count × page_size`. */
  mainBytes?: number;
  /** SQLite: size of the `-wal` file (0 when absent). */
  walBytes?: number;
}

type Row = Record<string, unknown>;

const rows = async (em: EntityManager, query: string) => (await em.getConnection().execute(query)) as Row[];
const first = (r: Row[]): unknown => (r[0] ? Object.values(r[0])[0] : undefined);

/** The database's size ({@link DatabaseSize}). */
export async function databaseSize(em: EntityManager): Promise<DatabaseSize> {
  if (isPostgres(em)) {
    const bytes = Number(first(await rows(em, 'select pg_database_size(current_database()) as bytes')));
    return { dialect: 'postgresql', bytes };
  }
  const pageCount = Number(first(await rows(em, 'pragma page_count')));
  const pageSize = Number(first(await rows(em, 'pragma page_size')));
  const main = (await rows(em, 'pragma database_list')).find((r) => r.name === 'main');
  const file = typeof main?.file === 'string' && main.file !== '' ? main.file : undefined;
  let walBytes = 0;
  if (file) {
    try {
      walBytes = (await stat(`${file}-wal`)).size;
    } catch {
      walBytes = 0; // no WAL file: rollback journal mode, or checkpointed and removed
    }
  }
  const mainBytes = pageCount * pageSize;
  return {
    dialect: 'sqlite',
    bytes: mainBytes + walBytes,
    ...(file ? { file } : {}),
    mainBytes,
    walBytes,
  };
}

/** The package's tables (`swl_` prefix), in the order of `swlEntities`. */
export function swlTableNames(em: EntityManager): string[] {
  const metadata = em.getMetadata();
  return swlEntities.map((entity) => metadata.find(entity as never)?.tableName ?? '').filter(Boolean);
}

/** `count(*)` of every table of the package. */
export async function tableRowCounts(em: EntityManager): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of swlTableNames(em)) {
    counts[table] = Number(first(await rows(em, `select count(*) as n from ${table}`)));
  }
  return counts;
}

/** Loans per status (every status listed, 0 included) and how many are overdue at `asOf`. */
export interface LoanFigures {
  byStatus: Record<LoanStatus, number>;
  /** `aprobado` loans whose due date is before `asOf` (as `LoanService.overdueLoans`). */
  overdue: number;
  asOf: Date;
}

/** {@link LoanFigures} at `asOf`. */
export async function loanFigures(em: EntityManager, asOf: Date): Promise<LoanFigures> {
  const byStatus = Object.fromEntries(LOAN_STATUSES.map((s) => [s, 0])) as Record<LoanStatus, number>;
  for (const r of await rows(em, 'select status, count(*) as n from swl_loan group by status')) {
    byStatus[r.status as LoanStatus] = Number(r.n);
  }
  const overdue = await em.fork().count(Loan, { status: 'aprobado', dueDate: { $lt: asOf } });
  return { byStatus, overdue, asOf };
}

/**
 * Visits the retention purge would delete at `now`: `entryTime < now − olderThanDays × 24 h`, the
 * cut-off of `VisitorLogService.purge`.
 */
export async function countVisitsOlderThan(
  em: EntityManager,
  olderThanDays: number,
  now: Date,
): Promise<{ cutoff: Date; count: number }> {
  const cutoff = new Date(now.getTime() - olderThanDays * DAY_MS);
  const count = await em.fork().count(LibraryLog, { entryTime: { $lt: cutoff } });
  return { cutoff, count };
}

/** What {@link maintainDatabase} ran, and the database's size around it. */
export interface MaintenanceReport {
  dialect: 'sqlite' | 'postgresql';
  /** The statements run, in order. */
  ran: string[];
  before: DatabaseSize;
  after: DatabaseSize;
  /** Wall-clock milliseconds the statements took. */
  ms: number;
}

/**
 * Refreshes the planner's statistics and reclaims storage, outside any transaction (`VACUUM`
 * cannot run inside one on either database):
 *
 * - PostgreSQL: `ANALYZE`, then `VACUUM` (`VACUUM FULL` with `full`: rewrites every table under an
 *   exclusive lock — the legacy chapter's option for a bloated database), database-wide as the
 *   original system's chapter runs them; tables the user does not own are skipped by PostgreSQL
 *   with a warning.
 * - SQLite: `PRAGMA optimize` (analyzes what needs it), `VACUUM` (rebuilds the file; always
 *   "full"), then `PRAGMA wal_checkpoint(TRUNCATE)` so the write-ahead log the rebuild wrote is
 *   folded back and the size after is the file's.
 */
export async function maintainDatabase(
  em: EntityManager,
  options: { full?: boolean } = {},
): Promise<MaintenanceReport> {
  const postgres = isPostgres(em);
  const before = await databaseSize(em);
  const statements = postgres
    ? ['analyze', options.full ? 'vacuum full' : 'vacuum']
    : ['pragma optimize', 'vacuum', 'pragma wal_checkpoint(truncate)'];
  const started = performance.now();
  const ran: string[] = [];
  for (const statement of statements) {
    await em.getConnection().execute(statement);
    ran.push(statement.toUpperCase());
  }
  const ms = Math.round(performance.now() - started);
  const after = await databaseSize(em);
  return { dialect: postgres ? 'postgresql' : 'sqlite', ran, before, after, ms };
}
