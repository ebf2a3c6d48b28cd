/**
 * The baseline: request, approve and return written by hand in raw SQL on the same driver the
 * package uses (node:sqlite through `SwlSqliteDialect`, `pg` on PostgreSQL), doing the reads,
 * checks and writes `LoanService` does, in one transaction per command:
 *
 * - the acting user exists, is active and has the claimed role;
 * - row locks on PostgreSQL (`FOR UPDATE` on the borrower at request, on the loan and the copy at
 *   approve/return, `SKIP LOCKED` when picking a copy of a title); SQLite writes start with
 *   `BEGIN IMMEDIATE`;
 * - the transition is allowed; the borrower is active and not blocked (overdue loan or unsettled
 *   penalty, one aggregate query); the policy exists; the request limit per category;
 * - updates carry the optimistic version check (`where id = ? and version = ?`, one row changed);
 * - the audit rows (`swl_loan_event`, and `swl_instance_event` when a copy changes status), with
 *   their ids returned as the package returns them to publish events.
 *
 * What it skips, on purpose, because it is what the package adds on top: zod input validation,
 * the capability matrix, entity hydration, the identity map and unit of work, error translation
 * and the after-commit event bus.
 */

import { calculateFine } from '../../src/loans/fines.ts';
import { loanPeriodMs } from '../../src/loans/rules.ts';
import type { Actor } from '../../src/permissions.ts';
import type { RawDb, RawSql } from './db.ts';

type Row = Record<string, unknown>;

class FloorError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

const truthy = (v: unknown) => v === true || v === 1 || v === 1n;
const asDate = (v: unknown) => (v instanceof Date ? v : new Date(Number(v)));
const num = (v: unknown) => Number(v);

async function one(tx: RawSql, sql: string, params: readonly unknown[]): Promise<Row | undefined> {
  return (await tx.query<Row>(sql, params)).rows[0];
}

async function actorRow(tx: RawSql, actor: Actor, lock: string): Promise<Row> {
  const user = await one(tx, `select id, role, active from swl_user where id = ?${lock}`, [actor.id]);
  if (!user || !truthy(user.active) || user.role !== actor.role) throw new FloorError('FORBIDDEN', 'actor');
  return user;
}

/** Overdue and unsettled-penalty figures of a borrower (the automatic blocks), one query. */
async function assertNotBlocked(tx: RawSql, borrowerId: number, now: Date): Promise<void> {
  const f = (await one(
    tx,
    `select coalesce(sum(case when status = 'aprobado' and due_date < ? then 1 else 0 end), 0) as overdue,
            coalesce(sum(case when status = 'devuelto' and final_penalty > 0 and penalty_settlement is null then 1 else 0 end), 0) as unsettled
     from swl_loan where borrower_id = ?`,
    [now, borrowerId],
  )) as Row;
  if (num(f.overdue) > 0 || num(f.unsettled) > 0)
    throw new FloorError('BORROWER_BLOCKED', String(borrowerId));
}

function policyRule(p: Row) {
  return {
    loanPeriod: num(p.loan_period),
    loanPeriodUnit: p.loan_period_unit as 'minutes' | 'hours' | 'days',
    maxActiveLoans: num(p.max_active_loans),
    environmentRequired: truthy(p.environment_required),
    fineAmount: num(p.fine_amount),
    fineInterval: p.fine_interval as 'minute' | 'hour' | 'day' | 'week',
    gracePeriodMinutes: num(p.grace_period_minutes),
    graceMode: p.grace_mode as 'threshold' | 'deduct',
    intervalRounding: p.interval_rounding as 'up' | 'down',
    maxFine: num(p.max_fine),
    capAtReplacementCost: truthy(p.cap_at_replacement_cost),
  };
}

async function policyFor(tx: RawSql, category: unknown, role: unknown) {
  const p = await one(tx, 'select * from swl_loan_policy where category = ? and role = ?', [category, role]);
  return p ? policyRule(p) : null;
}

/** Raw-SQL request/approve/return on one database. */
export class Floor {
  readonly #db: RawDb;
  readonly #lock: string;
  readonly #skipLocked: string;

  constructor(db: RawDb) {
    this.#db = db;
    this.#lock = db.dialect === 'postgresql' ? ' for update' : '';
    this.#skipLocked = db.dialect === 'postgresql' ? ' for update skip locked' : '';
  }

  /** The borrower (acting for themself) requests any copy of a catalog entry. Returns the loan id. */
  request(borrower: Actor, catalogEntryId: number, environment: string | null = null): Promise<number> {
    const now = new Date();
    return this.#db.transaction(async (tx) => {
      const user = await actorRow(tx, borrower, this.#lock); // actor = borrower: one locked read
      const entry = await one(tx, 'select id, category from swl_catalog where id = ?', [catalogEntryId]);
      if (!entry) throw new FloorError('NOT_FOUND', 'entry');
      const policy = await policyFor(tx, entry.category, user.role);
      if (!policy) throw new FloorError('POLICY_FORBIDS', String(entry.category));
      if (policy.environmentRequired && !environment) throw new FloorError('ENVIRONMENT_REQUIRED', '');
      await assertNotBlocked(tx, borrower.id, now);
      const active = (await one(
        tx,
        `select count(*) as n from swl_loan l join swl_catalog c on c.id = l.catalog_entry_id
         where l.borrower_id = ? and l.status in ('pendiente', 'aprobado') and c.category = ?`,
        [borrower.id, entry.category],
      )) as Row;
      if (num(active.n) >= policy.maxActiveLoans) throw new FloorError('LOAN_LIMIT_REACHED', '');
      const loan = (await one(
        tx,
        `insert into swl_loan (borrower_id, catalog_entry_id, instance_id, environment, status, request_date,
           requested_due_date, observation, requested_by_id, renewal_count, overdue_fine, replacement_charge,
           final_penalty, version, created_at, updated_at)
         values (?, ?, null, ?, 'pendiente', ?, null, null, ?, 0, 0, 0, 0, 1, ?, ?) returning id, version`,
        [borrower.id, catalogEntryId, environment, now, borrower.id, now, now],
      )) as Row;
      await tx.query(
        `insert into swl_loan_event (loan_id, type, from_status, to_status, actor_id, at, data)
         values (?, 'requested', null, 'pendiente', ?, ?, ?) returning id`,
        [loan.id, borrower.id, now, JSON.stringify({ copyId: null, catalogEntryId, requestedDueDate: null })],
      );
      return num(loan.id);
    });
  }

  /** Staff approves a pending request, picking the first available copy of its entry (or its named copy). */
  approve(staff: Actor, loanId: number): Promise<void> {
    const now = new Date();
    return this.#db.transaction(async (tx) => {
      await actorRow(tx, staff, '');
      const loan = await one(
        tx,
        `select id, borrower_id, catalog_entry_id, instance_id, status, requested_due_date, version
         from swl_loan where id = ?${this.#lock}`,
        [loanId],
      );
      if (!loan) throw new FloorError('NOT_FOUND', 'loan');
      if (loan.status !== 'pendiente') throw new FloorError('INVALID_TRANSITION', String(loan.status));
      const borrower = await one(tx, 'select id, role, active from swl_user where id = ?', [
        loan.borrower_id,
      ]);
      if (!borrower || !truthy(borrower.active)) throw new FloorError('BORROWER_INACTIVE', '');
      await assertNotBlocked(tx, num(loan.borrower_id), now);
      const entry = (await one(tx, 'select id, category, title_or_name from swl_catalog where id = ?', [
        loan.catalog_entry_id,
      ])) as Row;
      const policy = await policyFor(tx, entry.category, borrower.role);
      if (!policy) throw new FloorError('POLICY_FORBIDS', '');
      const copy =
        loan.instance_id != null
          ? await one(tx, `select id, status, version from swl_item_instance where id = ?${this.#lock}`, [
              loan.instance_id,
            ])
          : await one(
              tx,
              `select id, status, version from swl_item_instance
               where catalog_entry_id = ? and status = 'disponible' order by sequence asc limit 1${this.#skipLocked}`,
              [loan.catalog_entry_id],
            );
      if (copy?.status !== 'disponible') throw new FloorError('COPY_UNAVAILABLE', '');
      let due = now.getTime() + loanPeriodMs(policy);
      if (loan.requested_due_date != null) {
        const requested = asDate(loan.requested_due_date).getTime();
        if (requested > now.getTime() && requested < due) due = requested;
      }
      const dueDate = new Date(due);
      const updatedCopy = await tx.query(
        `update swl_item_instance set status = 'prestado', updated_at = ?, version = version + 1
         where id = ? and version = ?`,
        [now, copy.id, copy.version],
      );
      if (updatedCopy.changes !== 1) throw new FloorError('CONFLICT', 'copy version');
      const updatedLoan = await tx.query(
        `update swl_loan set instance_id = ?, status = 'aprobado', approval_date = ?, due_date = ?,
           approved_by_id = ?, updated_at = ?, version = version + 1
         where id = ? and version = ?`,
        [copy.id, now, dueDate, staff.id, now, loanId, loan.version],
      );
      if (updatedLoan.changes !== 1) throw new FloorError('CONFLICT', 'loan version');
      await tx.query(
        `insert into swl_loan_event (loan_id, type, from_status, to_status, actor_id, at, data)
         values (?, 'approved', 'pendiente', 'aprobado', ?, ?, ?) returning id`,
        [loanId, staff.id, now, JSON.stringify({ copyId: copy.id, dueDate: dueDate.toISOString() })],
      );
      await tx.query(
        `insert into swl_instance_event (instance_id, type, from_status, to_status, loan_id, actor_id, at, note)
         values (?, 'loaned', 'disponible', 'prestado', ?, ?, ?, null) returning id`,
        [copy.id, loanId, staff.id, now],
      );
    });
  }

  /** Staff checks a loan in with outcome `ok`: fine from the policy, copy back to `disponible`. */
  return(staff: Actor, loanId: number): Promise<void> {
    const now = new Date();
    return this.#db.transaction(async (tx) => {
      await actorRow(tx, staff, '');
      const loan = await one(
        tx,
        `select id, borrower_id, catalog_entry_id, instance_id, status, due_date, version
         from swl_loan where id = ?${this.#lock}`,
        [loanId],
      );
      if (!loan) throw new FloorError('NOT_FOUND', 'loan');
      if (loan.status !== 'aprobado') throw new FloorError('INVALID_TRANSITION', String(loan.status));
      const copy = (await one(
        tx,
        `select id, status, version from swl_item_instance where id = ?${this.#lock}`,
        [loan.instance_id],
      )) as Row;
      const entry = (await one(tx, 'select id, category, replacement_cost from swl_catalog where id = ?', [
        loan.catalog_entry_id,
      ])) as Row;
      const borrower = (await one(tx, 'select id, role from swl_user where id = ?', [
        loan.borrower_id,
      ])) as Row;
      const policy = await policyFor(tx, entry.category, borrower.role);
      const replacementCost = num(entry.replacement_cost);
      const fine = policy
        ? calculateFine(asDate(loan.due_date), now, policy, replacementCost)
        : { overdueMinutes: 0, chargedMinutes: 0, intervals: 0, uncapped: 0, amount: 0, cappedBy: null };
      const updatedLoan = await tx.query(
        `update swl_loan set status = 'devuelto', return_date = ?, received_by_id = ?, return_outcome = 'ok',
           overdue_fine = ?, replacement_charge = 0, final_penalty = ?, updated_at = ?, version = version + 1
         where id = ? and version = ?`,
        [now, staff.id, fine.amount, fine.amount, now, loanId, loan.version],
      );
      if (updatedLoan.changes !== 1) throw new FloorError('CONFLICT', 'loan version');
      const updatedCopy = await tx.query(
        `update swl_item_instance set status = 'disponible', updated_at = ?, version = version + 1
         where id = ? and version = ?`,
        [now, copy.id, copy.version],
      );
      if (updatedCopy.changes !== 1) throw new FloorError('CONFLICT', 'copy version');
      await tx.query(
        `insert into swl_loan_event (loan_id, type, from_status, to_status, actor_id, at, data)
         values (?, 'returned', 'aprobado', 'devuelto', ?, ?, ?) returning id`,
        [
          loanId,
          staff.id,
          now,
          JSON.stringify({
            outcome: 'ok',
            fine,
            policyFound: policy !== null,
            replacementCharge: 0,
            finalPenalty: fine.amount,
          }),
        ],
      );
      await tx.query(
        `insert into swl_instance_event (instance_id, type, from_status, to_status, loan_id, actor_id, at, note)
         values (?, 'returned', ?, 'disponible', ?, ?, ?, null) returning id`,
        [copy.id, copy.status, loanId, staff.id, now],
      );
    });
  }
}
