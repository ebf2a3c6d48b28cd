/**
 * `swl stats`: the database's size (PostgreSQL `pg_database_size`; SQLite `page_count × page_size`
 * plus the WAL file), rows per `swl_` table, loans by status and how many are overdue now (UTC).
 * Read-only. Source: docs/legacy/000_266b31aaf8610e4d.txt "Checking Database Size"; issue 14.
 *
 * @module
 * @internal
 */
import {
  type DatabaseSize,
  databaseSize,
  type LoanFigures,
  loanFigures,
  tableRowCounts,
} from '../../operations/database.ts';
import type { RegisterCommands } from './index.ts';

/** What `swl stats` prints. */
export interface StatsReport {
  size: DatabaseSize;
  /** `count(*)` per table of the package. */
  tables: Record<string, number>;
  loans: Omit<LoanFigures, 'asOf'> & { asOf: string };
}

/** `12345678` → `11.8 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The size as one line: total, and for SQLite the file and WAL parts. */
export function describeSize(size: DatabaseSize): string {
  const parts =
    size.dialect === 'sqlite'
      ? ` (file ${formatBytes(size.mainBytes ?? 0)} + WAL ${formatBytes(size.walBytes ?? 0)})`
      : '';
  return `${formatBytes(size.bytes)} [${size.bytes} bytes]${parts}`;
}

export const registerStats: RegisterCommands = (program, context) => {
  program
    .command('stats')
    .description('database size, rows per swl_ table, loans by status and overdue loans now (UTC); read-only')
    .action(async (_options: Record<string, never>, command) => {
      const ctx = context(command);
      const report = await ctx.withOrm(async (orm): Promise<StatsReport> => {
        const em = orm.em.fork();
        const size = await databaseSize(em);
        const tables = await tableRowCounts(em);
        const loans = await loanFigures(em, new Date());
        return { size, tables, loans: { ...loans, asOf: loans.asOf.toISOString() } };
      });
      const width = Math.max(...Object.keys(report.tables).map((t) => t.length));
      ctx.print(report, (r) => [
        `database (${r.size.dialect}): ${describeSize(r.size)}`,
        'rows:',
        ...Object.entries(r.tables).map(([table, n]) => `  ${table.padEnd(width)}  ${n}`),
        `loans: ${Object.entries(r.loans.byStatus)
          .map(([status, n]) => `${status} ${n}`)
          .join(', ')}`,
        `overdue now (${r.loans.asOf}): ${r.loans.overdue}`,
      ]);
    });
};
