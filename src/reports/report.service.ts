/**
 * Reports as typed reads (issue 17): overdue loans by borrower with the fines accrued so far,
 * availability per entry over a date range (the reservation engine's stock timeline), loans per
 * month × category × role, visits (the visitor log's statistics), the most borrowed entries, and the
 * copies in maintenance or lost since when. Each is computed by the database in one or a few
 * statements; the ones that list rows are paginated.
 *
 * Reused, not re-derived: the fine rule (`calculateFine` under `loanTerms`, src/loans/fines.ts and
 * src/loans/terms.ts, as `LoanService.overdueLoans`), the stock timeline (`readStockTimeline`,
 * src/reservations/availability.ts, as `ReservationService.availability`), and the visit
 * statistics (`readVisitStatistics`, src/visitors/visitor-log.service.ts).
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { type RawBuilder, sql } from 'kysely';
import type { Category, CopyEventType, Role } from '../domain/vocabulary.ts';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import { defineQuery, ServiceBase, type ServiceOptions } from '../internal/service-base.ts';
import {
  instantParam,
  kyselyOf,
  type StoredInstant,
  type SwlKysely,
  toBool,
  toInstant,
  toInt,
} from '../kernel/db.ts';
import { addMoney, calculateFine, MAX_MONEY, overdueMinutes } from '../loans/fines.ts';
import { NO_FINE } from '../loans/rules.ts';
import { policyTerms, termsFromRow } from '../loans/terms.ts';
import type { Actor } from '../permissions.ts';
import { readStockTimeline } from '../reservations/availability.ts';
import { availabilityOf } from '../reservations/reservation.service.ts';
import type { Page } from '../validation.ts';
import { VisitStatisticsInput } from '../visitors/schemas.ts';
import type { VisitStatistics } from '../visitors/views.ts';
import { readVisitStatistics } from '../visitors/visitor-log.service.ts';
import {
  AvailabilityReportInput,
  CopiesOutOfServiceInput,
  LoansPerMonthInput,
  OUT_OF_SERVICE_STATUSES,
  type OutOfServiceStatus,
  OverdueByBorrowerInput,
  TopBorrowedInput,
} from './schemas.ts';
import type {
  AvailabilityReport,
  EntryAvailability,
  LoansPerMonthReport,
  OutOfServiceCopy,
  OverdueBorrower,
  OverdueLoanLine,
  OverdueReport,
  TopBorrowedReport,
} from './views.ts';

const OVERDUE = defineQuery({ capability: 'report:read', input: OverdueByBorrowerInput });
const AVAILABILITY = defineQuery({ capability: 'report:read', input: AvailabilityReportInput });
const LOANS_PER_MONTH = defineQuery({ capability: 'report:read', input: LoansPerMonthInput });
const VISITS = defineQuery({ capability: 'report:read', input: VisitStatisticsInput });
const TOP_BORROWED = defineQuery({ capability: 'report:read', input: TopBorrowedInput });
const OUT_OF_SERVICE = defineQuery({ capability: 'report:read', input: CopiesOutOfServiceInput });

const NOTHING = sql.raw('');

/** `and <column> in (…)` over `ids`, or nothing without ids. */
function andIn(column: string, ids: readonly number[] | undefined): RawBuilder<unknown> {
  return ids
    ? sql`and ${sql.ref(column)} in (${sql.join(ids.map((id) => sql`${id}`))})`
    : (NOTHING as RawBuilder<unknown>);
}

/** `and c.category = ?`, or nothing. */
function andCategory(category: Category | undefined): RawBuilder<unknown> {
  return category ? sql`and c.category = ${category}` : (NOTHING as RawBuilder<unknown>);
}

/**
 * The UTC month `YYYY-MM` of `l.approval_date`: on SQLite the column holds epoch milliseconds
 * (MikroORM 7), on PostgreSQL a `timestamptz` (the session time zone must not matter).
 */
function monthExpression(postgres: boolean): RawBuilder<string> {
  return sql.raw(
    postgres
      ? `to_char(l.approval_date at time zone 'UTC', 'YYYY-MM')`
      : `strftime('%Y-%m', l.approval_date / 1000, 'unixepoch')`,
  );
}

/**
 * Read-only reports over the desk's records. Every method takes the acting user first, validates
 * its input with the exported zod schema and checks the capability `report:read` (staff, admin)
 * before touching the database; it reads on the caller's EntityManager (inside its open
 * transaction when there is one) and writes nothing. Money is in integer minor units (0 ..=
 * `MAX_MONEY`), instants are UTC, periods are half-open `[from, to)`. Only {@link SwlError} is
 * thrown: `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`. Source: issue 17.
 *
 * @example
 * ```ts
 * const reports = new ReportService(em, { clock });
 * const overdue = await reports.overdueByBorrower(staff, { limit: 20 });
 * const march = await reports.loansPerMonth(staff, { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' });
 * ```
 */
export class ReportService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or the one of an open host transaction).
   * @param options - clock (the default `asOf` and the instant a loan counts as overdue at) and event bus (unused: reports publish nothing).
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Borrowers with approved loans past their due date at `asOf` (default: the clock's now), most
   * overdue first (the oldest due date ascending, then borrower id), each with their overdue loans
   * and the fine accrued on each as if returned at `asOf` — under the loan's terms fixed at
   * approval, the current policy for a legacy loan without terms, none without either (the rule of
   * `LoanService.overdueLoans`) — and what they owe: the accrued fines plus the unsettled penalties
   * of their returned loans. The page of borrowers (and their total) is chosen by the database
   * with one `GROUP BY`; the loans and the unsettled penalties of the page are one statement each
   * (the lending policies one more, only when a loan has no terms).
   *
   * @param actor - acting user; capability `report:read` (staff, admin).
   * @param input - {@link OverdueByBorrowerInput}: `asOf`, `limit`/`offset` over borrowers.
   * @returns a page of borrowers; `total` counts borrowers with overdue loans; money in minor units.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async overdueByBorrower(actor: Actor, input: OverdueByBorrowerInput = {}): Promise<OverdueReport> {
    return this.query(OVERDUE, actor, input, async (em, _a, i) => {
      const asOf = i.asOf ?? this.clock.now();
      const db = kyselyOf(em);
      const at = instantParam(this.postgres, asOf);
      const page = await sql<{
        id: number | string;
        document_id: string;
        full_name: string;
        email: string | null;
        role: Role;
        active: boolean | number;
        oldest: StoredInstant;
        total: number | string;
      }>`
        select u.id, u.document_id, u.full_name, u.email, u.role, u.active,
               min(l.due_date) as oldest, count(*) over () as total
          from swl_loan l
          join swl_user u on u.id = l.borrower_id
         where l.status = 'aprobado' and l.due_date < ${at}
         group by u.id
         order by min(l.due_date) asc, u.id asc
         limit ${i.limit} offset ${i.offset}`.execute(db);
      const total = await pageTotal(
        db,
        page.rows,
        i.offset,
        sql`select count(distinct l.borrower_id) as n from swl_loan l where l.status = 'aprobado' and l.due_date < ${at}`,
      );
      const ids = page.rows.map((r) => toInt(r.id));
      if (ids.length === 0) return { items: [], total, limit: i.limit, offset: i.offset, asOf };

      const loans = await sql<Record<string, unknown>>`
        select l.*, c.title_or_name, c.category, c.replacement_cost, i.code as copy_code, u.role as borrower_role
          from swl_loan l
          join swl_catalog c on c.id = l.catalog_entry_id
          join swl_user u on u.id = l.borrower_id
          left join swl_item_instance i on i.id = l.instance_id
         where l.status = 'aprobado' and l.due_date < ${at} ${andIn('l.borrower_id', ids)}
         order by l.borrower_id, l.due_date, l.id`.execute(db);
      // Policies are read only when a legacy loan without terms needs them.
      const policies = loans.rows.some((r) => !termsFromRow(r)) ? await em.find(LoanPolicy, {}) : [];
      const lines = new Map<number, OverdueLoanLine[]>();
      for (const r of loans.rows) {
        const category = r.category as Category;
        const policy = policies.find((p) => p.category === category && p.role === r.borrower_role);
        const terms = termsFromRow(r) ?? (policy ? policyTerms(policy) : null);
        const due = toInstant(r.due_date as StoredInstant);
        const cost = r.replacement_cost == null ? null : toInt(r.replacement_cost as number | string);
        const fine = terms ? calculateFine(due, asOf, terms, cost) : { ...NO_FINE };
        const borrowerId = toInt(r.borrower_id as number | string);
        const line: OverdueLoanLine = {
          loanId: toInt(r.id as number | string),
          catalogEntryId: toInt(r.catalog_entry_id as number | string),
          titleOrName: r.title_or_name as string,
          category,
          copyId: toInt(r.instance_id as number | string | null),
          copyCode: (r.copy_code as string | null) ?? null,
          approvalDate: toInstant(r.approval_date as StoredInstant),
          dueDate: due,
          overdueMinutes: overdueMinutes(due, asOf),
          accruedFine: fine.amount,
          fineCappedBy: fine.cappedBy,
        };
        lines.set(borrowerId, [...(lines.get(borrowerId) ?? []), line]);
      }

      const unsettled = await sql<{
        borrower_id: number | string;
        n: number | string;
        amount: number | string;
      }>`
        select l.borrower_id, count(*) as n, coalesce(sum(l.final_penalty), 0) as amount
          from swl_loan l
         where l.status = 'devuelto' and l.final_penalty > 0 and l.penalty_settlement is null
               ${andIn('l.borrower_id', ids)}
         group by l.borrower_id`.execute(db);
      const owed = new Map(unsettled.rows.map((r) => [toInt(r.borrower_id), r]));

      const items = page.rows.map((r): OverdueBorrower => {
        const borrowerId = toInt(r.id);
        const own = lines.get(borrowerId) ?? [];
        const accruedFines = addMoney(...own.map((l) => l.accruedFine)).amount;
        const penalties = owed.get(borrowerId);
        // Held at MAX_MONEY: a sum of several large penalties stays a safe JavaScript number.
        const unsettledAmount = penalties ? Math.min(Number(penalties.amount), MAX_MONEY) : 0;
        return {
          borrowerId,
          documentId: r.document_id,
          fullName: r.full_name,
          email: r.email ?? null,
          role: r.role,
          active: toBool(r.active),
          loans: own,
          overdueLoans: own.length,
          accruedFines,
          unsettledPenalties: penalties ? toInt(penalties.n) : 0,
          unsettledAmount,
          totalOwed: addMoney(accruedFines, unsettledAmount).amount,
        };
      });
      return { items, total, limit: i.limit, offset: i.offset, asOf };
    });
  }

  /**
   * The free copies of catalog entries over `[from, to)`, per entry: the lendable copies
   * (`capacity`), the consecutive intervals of committed and free units, and the least free
   * quantity over the range (`minFree`) — exactly what `ReservationService.availability` answers
   * for one entry (the same stock timeline of the reservation engine: bookings, approved loans with
   * their buffer, overdue loans for ever, copies set aside for holds). Entries in use (not
   * withdrawn), optionally only `catalogEntryIds` and/or one `category`, by id; the page of entries
   * and its total are one statement, then one statement per entry of the page.
   *
   * @param actor - acting user; capability `report:read` (staff, admin).
   * @param input - {@link AvailabilityReportInput}.
   * @returns a page of entries (`total` counts matching entries), each with its availability.
   * @throws SwlError `VALIDATION_FAILED` (including a range longer than 366 days), `FORBIDDEN`, `UNAVAILABLE`.
   */
  async availability(actor: Actor, input: AvailabilityReportInput): Promise<AvailabilityReport> {
    return this.query(AVAILABILITY, actor, input, async (em, _a, i) => {
      const db = kyselyOf(em);
      const now = this.clock.now();
      const filter = sql`c.withdrawn_at is null ${andIn('c.id', i.catalogEntryIds)} ${andCategory(i.category)}`;
      const page = await sql<{
        id: number | string;
        title_or_name: string;
        category: Category;
        total: number | string;
      }>`
        select c.id, c.title_or_name, c.category, count(*) over () as total
          from swl_catalog c
         where ${filter}
         order by c.id
         limit ${i.limit} offset ${i.offset}`.execute(db);
      const total = await pageTotal(
        db,
        page.rows,
        i.offset,
        sql`select count(*) as n from swl_catalog c where ${filter}`,
      );
      const items: EntryAvailability[] = [];
      for (const r of page.rows) {
        const catalogEntryId = toInt(r.id);
        const timeline = await readStockTimeline(db, this.postgres, {
          catalogEntryId,
          from: i.from,
          to: i.to,
          now,
        });
        items.push({
          ...availabilityOf(catalogEntryId, i.from, i.to, timeline),
          titleOrName: r.title_or_name,
          category: r.category,
        });
      }
      return { items, total, limit: i.limit, offset: i.offset, from: i.from, to: i.to };
    });
  }

  /**
   * Loans lent (approved) with `from <= approvalDate < to`, counted per UTC calendar month of the
   * approval × the entry's category × the borrower's role (as it is now), with how many of them
   * came back after their due date — one `GROUP BY` statement.
   *
   * @param actor - acting user; capability `report:read` (staff, admin).
   * @param input - {@link LoansPerMonthInput}.
   * @returns the groups that have loans, ordered by month, category, role; `total` their sum.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async loansPerMonth(actor: Actor, input: LoansPerMonthInput): Promise<LoansPerMonthReport> {
    return this.query(LOANS_PER_MONTH, actor, input, async (em, _a, i) => {
      const month = monthExpression(this.postgres);
      const result = await sql<{
        month: string;
        category: Category;
        role: Role;
        loans: number | string;
        returned_late: number | string;
      }>`
        select ${month} as month, c.category, u.role, count(*) as loans,
               sum(case when l.return_date is not null and l.return_date > l.due_date then 1 else 0 end) as returned_late
          from swl_loan l
          join swl_catalog c on c.id = l.catalog_entry_id
          join swl_user u on u.id = l.borrower_id
         where l.approval_date >= ${instantParam(this.postgres, i.from)}
           and l.approval_date < ${instantParam(this.postgres, i.to)}
         group by ${month}, c.category, u.role
         order by 1, 2, 3`.execute(kyselyOf(em));
      const rows = result.rows.map((r) => ({
        month: String(r.month),
        category: r.category,
        role: r.role,
        loans: toInt(r.loans),
        returnedLate: toInt(r.returned_late),
      }));
      return { from: i.from, to: i.to, rows, total: rows.reduce((n, r) => n + r.loans, 0) };
    });
  }

  /**
   * Visit counts with `from <= entryTime < to`, grouped by UTC day (`YYYY-MM-DD`), role or
   * activity — `VisitorLogService.statistics` itself (the same statements, one `GROUP BY` and one
   * `count(*)`), under the report capability.
   *
   * @param actor - acting user; capability `report:read` (staff, admin).
   * @param input - `VisitStatisticsInput` (src/visitors/schemas.ts).
   * @returns rows ordered by key, and the total.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async visits(actor: Actor, input: VisitStatisticsInput): Promise<VisitStatistics> {
    return this.query(VISITS, actor, input, (em, _a, i) => readVisitStatistics(em, this.postgres, i));
  }

  /**
   * The catalog entries with the most loans lent (approved) with `from <= approvalDate < to`,
   * optionally of one `category`: at most `limit`, most loans first, then by entry id — one
   * `GROUP BY` statement.
   *
   * @param actor - acting user; capability `report:read` (staff, admin).
   * @param input - {@link TopBorrowedInput}.
   * @returns the entries with their loan counts.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async topBorrowed(actor: Actor, input: TopBorrowedInput): Promise<TopBorrowedReport> {
    return this.query(TOP_BORROWED, actor, input, async (em, _a, i) => {
      const result = await sql<{
        id: number | string;
        title_or_name: string;
        category: Category;
        loans: number | string;
      }>`
        select c.id, c.title_or_name, c.category, count(*) as loans
          from swl_loan l
          join swl_catalog c on c.id = l.catalog_entry_id
         where l.approval_date >= ${instantParam(this.postgres, i.from)}
           and l.approval_date < ${instantParam(this.postgres, i.to)}
           ${andCategory(i.category)}
         group by c.id, c.title_or_name, c.category
         order by count(*) desc, c.id asc
         limit ${i.limit}`.execute(kyselyOf(em));
      return {
        from: i.from,
        to: i.to,
        rows: result.rows.map((r) => ({
          catalogEntryId: toInt(r.id),
          titleOrName: r.title_or_name,
          category: r.category,
          loans: toInt(r.loans),
        })),
      };
    });
  }

  /**
   * Copies in maintenance (`mantenimiento`) or lost (`perdido`) — or only `status` — optionally of
   * one `category`, each with since when: the instant of its latest copy event
   * (`swl_instance_event`) that moved it to its current status (`sent_to_maintenance`,
   * `marked_lost`, or a check-in as damaged or lost), with that event's type and loan. Longest out
   * of service first: copies without such an event, then `since` ascending, then copy id. The
   * page and its total are one statement.
   *
   * @param actor - acting user; capability `report:read` (staff, admin).
   * @param input - {@link CopiesOutOfServiceInput}.
   * @returns a page of copies; `total` counts the matching copies.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async copiesOutOfService(
    actor: Actor,
    input: CopiesOutOfServiceInput = {},
  ): Promise<Page<OutOfServiceCopy>> {
    return this.query(OUT_OF_SERVICE, actor, input, async (em, _a, i) => {
      const db = kyselyOf(em);
      const statuses: readonly OutOfServiceStatus[] = i.status ? [i.status] : OUT_OF_SERVICE_STATUSES;
      const filter = sql`i.status in (${sql.join(statuses.map((s) => sql`${s}`))}) ${andCategory(i.category)}`;
      const page = await sql<{
        id: number | string;
        code: string;
        status: OutOfServiceStatus;
        catalog_entry_id: number | string;
        title_or_name: string;
        category: Category;
        at: StoredInstant | null;
        type: CopyEventType | null;
        loan_id: number | string | null;
        total: number | string;
      }>`
        select i.id, i.code, i.status, i.catalog_entry_id, c.title_or_name, c.category,
               e.at, e.type, e.loan_id, count(*) over () as total
          from swl_item_instance i
          join swl_catalog c on c.id = i.catalog_entry_id
          left join swl_instance_event e on e.id = (
                select max(x.id) from swl_instance_event x
                 where x.instance_id = i.id and x.to_status = i.status)
         where ${filter}
         order by case when e.at is null then 0 else 1 end, e.at, i.id
         limit ${i.limit} offset ${i.offset}`.execute(db);
      const total = await pageTotal(
        db,
        page.rows,
        i.offset,
        sql`select count(*) as n from swl_item_instance i join swl_catalog c on c.id = i.catalog_entry_id where ${filter}`,
      );
      const items = page.rows.map(
        (r): OutOfServiceCopy => ({
          copyId: toInt(r.id),
          code: r.code,
          status: r.status,
          catalogEntryId: toInt(r.catalog_entry_id),
          titleOrName: r.title_or_name,
          category: r.category,
          since: toInstant(r.at),
          sinceEvent: r.type ?? null,
          loanId: toInt(r.loan_id),
        }),
      );
      return { items, total, limit: i.limit, offset: i.offset };
    });
  }
}

/**
 * The total of a page read with `count(*) over () as total`: from its first row, or — a page past
 * the end, which has no row — from `count`, a `select count(…) as n` (0 without asking on page one).
 */
async function pageTotal(
  db: SwlKysely,
  rows: ReadonlyArray<{ total?: number | string }>,
  offset: number,
  count: RawBuilder<unknown>,
): Promise<number> {
  if (rows.length > 0) return toInt(rows[0]?.total ?? 0);
  if (offset === 0) return 0;
  const result = await sql<{ n: number | string }>`${count}`.execute(db);
  return toInt(result.rows[0]?.n ?? 0);
}
