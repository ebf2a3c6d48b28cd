/**
 * `swl report <name> [--format csv|json]`: the reports of issue 17 (`ReportService`) for an
 * operator or a spreadsheet — `overdue`, `availability`, `loans-per-month`, `visits`,
 * `top-borrowed`, `out-of-service`. Acts as the default admin (`src/cli/acting-admin.ts`), so the
 * service's capability check (`report:read`) and validation apply unchanged; read-only.
 *
 * CSV (the default) is written by `csv-stringify` (RFC 4180 quoting), header row first — also when
 * there are no rows. Nested reports are flattened: `overdue` has one row per overdue loan with its
 * borrower's columns repeated, `availability` one row per interval of an entry's timeline. Money is
 * in integer minor units, instants are ISO 8601 UTC, a missing value is an empty field. A page that
 * is not the whole report is said on stderr (`borrowers 1–50 of 120`), never in the CSV. `--format json`
 * (or the global `--json`) prints the service's result as one JSON document.
 *
 * Instants (`--from`, `--to`, `--as-of`) are `YYYY-MM-DD` (the start of that day, UTC) or ISO 8601
 * with an offset. An unknown report name, a malformed option or a missing `--from`/`--to` is a
 * usage error (exit 2).
 *
 * Source: issue 17 ("`swl report <name> --format csv|json`").
 *
 * @module
 * @internal
 */
import { stringify } from 'csv-stringify/sync';
import { ReportService } from '../../reports/report.service.ts';
import { DateOrInstantSchema } from '../../validation.ts';
import { actingAdmin } from '../acting-admin.ts';
import { UsageError } from '../context.ts';
import type { RegisterCommands } from './index.ts';

/** The report names `swl report` takes. */
export const REPORT_NAMES = [
  'overdue',
  'availability',
  'loans-per-month',
  'visits',
  'top-borrowed',
  'out-of-service',
] as const;
/** One of {@link REPORT_NAMES}. */
export type ReportName = (typeof REPORT_NAMES)[number];

/** The options of `swl report`, as commander gives them. */
export interface ReportOptions {
  format?: string;
  from?: string;
  to?: string;
  asOf?: string;
  limit?: string;
  offset?: string;
  entry?: string[];
  category?: string;
  status?: string;
  groupBy?: string;
}

/** A CSV table: the header and the rows (cells already as text or numbers). */
export interface CsvTable {
  columns: string[];
  rows: Array<Record<string, string | number>>;
}

type Cell = string | number | boolean | Date | null | undefined;

/** A cell as CSV text: instants ISO 8601, booleans `true`/`false`, null empty. */
function cell(value: Cell): string | number {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return value;
}

function table(columns: string[], rows: Array<Record<string, Cell>>): CsvTable {
  return {
    columns,
    rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, cell(r[c])]))),
  };
}

function instant(name: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const parsed = DateOrInstantSchema.safeParse(text);
  if (!parsed.success) {
    throw new UsageError(`--${name} must be YYYY-MM-DD or an ISO 8601 instant with an offset; got '${text}'`);
  }
  return parsed.data;
}

function required(name: string, value: Date | undefined, report: string): Date {
  if (!value) throw new UsageError(`swl report ${report} needs --${name}`);
  return value;
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^(0|[1-9][0-9]{0,9})$/.test(text)) {
    throw new UsageError(`--${name} must be a whole number; got '${text}'`);
  }
  return Number(text);
}

/** Runs report `name` and returns its JSON result and CSV table, plus the page note. */
async function runReport(
  service: ReportService,
  admin: Parameters<ReportService['overdueByBorrower']>[0],
  name: ReportName,
  o: ReportOptions,
): Promise<{
  result: unknown;
  csv: CsvTable;
  page?: { offset: number; count: number; total: number; unit: string };
}> {
  const limit = integer('limit', o.limit);
  const offset = integer('offset', o.offset);
  const from = instant('from', o.from);
  const to = instant('to', o.to);
  const category = o.category as 'general' | 'premium' | undefined;
  const page = { ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) };
  switch (name) {
    case 'overdue': {
      const r = await service.overdueByBorrower(admin, { ...page, asOf: instant('as-of', o.asOf) });
      const rows = r.items.flatMap((b) =>
        b.loans.map((l) => ({
          asOf: r.asOf,
          borrowerId: b.borrowerId,
          documentId: b.documentId,
          fullName: b.fullName,
          email: b.email,
          role: b.role,
          borrowerOverdueLoans: b.overdueLoans,
          borrowerAccruedFines: b.accruedFines,
          borrowerUnsettledAmount: b.unsettledAmount,
          borrowerTotalOwed: b.totalOwed,
          loanId: l.loanId,
          catalogEntryId: l.catalogEntryId,
          titleOrName: l.titleOrName,
          category: l.category,
          copyCode: l.copyCode,
          approvalDate: l.approvalDate,
          dueDate: l.dueDate,
          overdueMinutes: l.overdueMinutes,
          accruedFine: l.accruedFine,
        })),
      );
      return {
        result: r,
        csv: table(OVERDUE_COLUMNS, rows),
        page: { offset: r.offset, count: r.items.length, total: r.total, unit: 'borrowers' },
      };
    }
    case 'availability': {
      const r = await service.availability(admin, {
        ...page,
        from: required('from', from, name),
        to: required('to', to, name),
        ...(o.entry ? { catalogEntryIds: o.entry.map((e) => integer('entry', e) as number) } : {}),
        ...(category ? { category } : {}),
      });
      const rows = r.items.flatMap((e) =>
        e.intervals.map((x) => ({
          catalogEntryId: e.catalogEntryId,
          titleOrName: e.titleOrName,
          category: e.category,
          capacity: e.capacity,
          minFree: e.minFree,
          from: x.from,
          to: x.to,
          booked: x.booked,
          free: x.free,
        })),
      );
      return {
        result: r,
        csv: table(
          [
            'catalogEntryId',
            'titleOrName',
            'category',
            'capacity',
            'minFree',
            'from',
            'to',
            'booked',
            'free',
          ],
          rows,
        ),
        page: { offset: r.offset, count: r.items.length, total: r.total, unit: 'entries' },
      };
    }
    case 'loans-per-month': {
      const r = await service.loansPerMonth(admin, {
        from: required('from', from, name),
        to: required('to', to, name),
      });
      return {
        result: r,
        csv: table(['month', 'category', 'role', 'loans', 'returnedLate'], r.rows as never),
      };
    }
    case 'visits': {
      const r = await service.visits(admin, {
        from: required('from', from, name),
        to: required('to', to, name),
        groupBy: (o.groupBy ?? 'day') as 'day',
      });
      return { result: r, csv: table(['key', 'visits'], r.rows as never) };
    }
    case 'top-borrowed': {
      const r = await service.topBorrowed(admin, {
        from: required('from', from, name),
        to: required('to', to, name),
        ...(limit === undefined ? {} : { limit }),
        ...(category ? { category } : {}),
      });
      return {
        result: r,
        csv: table(['catalogEntryId', 'titleOrName', 'category', 'loans'], r.rows as never),
      };
    }
    case 'out-of-service': {
      const r = await service.copiesOutOfService(admin, {
        ...page,
        ...(o.status ? { status: o.status as 'perdido' } : {}),
        ...(category ? { category } : {}),
      });
      return {
        result: r,
        csv: table(
          [
            'copyId',
            'code',
            'status',
            'catalogEntryId',
            'titleOrName',
            'category',
            'since',
            'sinceEvent',
            'loanId',
          ],
          r.items as never,
        ),
        page: { offset: r.offset, count: r.items.length, total: r.total, unit: 'copies' },
      };
    }
  }
}

/** The columns of `swl report overdue --format csv`, in order: one row per overdue loan. */
export const OVERDUE_COLUMNS = [
  'asOf',
  'borrowerId',
  'documentId',
  'fullName',
  'email',
  'role',
  'borrowerOverdueLoans',
  'borrowerAccruedFines',
  'borrowerUnsettledAmount',
  'borrowerTotalOwed',
  'loanId',
  'catalogEntryId',
  'titleOrName',
  'category',
  'copyCode',
  'approvalDate',
  'dueDate',
  'overdueMinutes',
  'accruedFine',
];

export const registerReport: RegisterCommands = (program, context) => {
  program
    .command('report')
    .description(
      `print a report as CSV (header row first) or JSON, as the default admin; read-only. Names: ${REPORT_NAMES.join(', ')}`,
    )
    .argument('<name>', `the report: ${REPORT_NAMES.join(' | ')}`)
    .option('--format <format>', 'csv (default) or json (the global --json also means json)')
    .option('--from <instant>', 'period start, inclusive (YYYY-MM-DD = 00:00 UTC, or ISO 8601 with offset)')
    .option('--to <instant>', 'period end, exclusive (same forms as --from)')
    .option(
      '--as-of <instant>',
      'overdue: the instant loans are overdue at and fines accrue to (default now)',
    )
    .option('--limit <n>', 'page size (overdue: borrowers; availability: entries; top-borrowed: entries)')
    .option('--offset <n>', 'rows to skip (overdue, availability, out-of-service)')
    .option('--entry <id...>', 'availability: only these catalog entry ids')
    .option('--category <category>', 'availability, top-borrowed, out-of-service: general or premium')
    .option('--status <status>', 'out-of-service: mantenimiento or perdido (default both)')
    .option('--group-by <group>', 'visits: day (default), role or activity')
    .action(async (name: string, options: ReportOptions, command) => {
      const ctx = context(command);
      if (!(REPORT_NAMES as readonly string[]).includes(name)) {
        throw new UsageError(`unknown report '${name}'; one of: ${REPORT_NAMES.join(', ')}`);
      }
      const format = options.format ?? (ctx.options.json ? 'json' : 'csv');
      if (format !== 'csv' && format !== 'json') {
        throw new UsageError(`--format must be csv or json; got '${format}'`);
      }
      if (format === 'csv' && ctx.options.json) {
        throw new UsageError('--json and --format csv contradict each other');
      }
      const out = await ctx.withOrm(async (orm) => {
        const admin = await actingAdmin(orm.em.fork(), 'read reports');
        return runReport(new ReportService(orm.em.fork()), admin, name as ReportName, options);
      });
      if (format === 'json') {
        ctx.io.stdout.write(`${JSON.stringify(out.result, null, 2)}\n`);
      } else {
        ctx.io.stdout.write(stringify(out.csv.rows, { header: true, columns: out.csv.columns }));
      }
      const page = out.page;
      if (page && (page.offset > 0 || page.count < page.total)) {
        const range = page.count === 0 ? 'none' : `${page.offset + 1}–${page.offset + page.count}`;
        ctx.note(`${page.unit} ${range} of ${page.total} (use --offset for the next page)`);
      }
    });
};
