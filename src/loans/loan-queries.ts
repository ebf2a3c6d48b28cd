/**
 * The reads of the loan lifecycle commands, as typed Kysely queries on the command's transaction
 * (`src/kernel/db.ts`), each decoded into plain values. On PostgreSQL the loan and copy reads
 * lock their rows (`FOR UPDATE`; a copy picked for a title-level request with `SKIP LOCKED`
 * first); SQLite serializes writers with `BEGIN IMMEDIATE` instead.
 *
 * Source: `docs/DESIGN.md` §5 (blocks, limits), §7 (locks).
 *
 * @module
 */
import { sql } from 'kysely';
import { type Category, CopyStatus, LoanStatus, type Role } from '../domain/vocabulary.ts';
import { MAX_MONEY } from '../entities/common.ts';
import { notSetAside } from '../holds/serve.ts';
import { compiled } from '../kernel/compiled.ts';
import { instantParam, type StoredInstant, type SwlKysely, toBool, toInstant, toInt } from '../kernel/db.ts';
import type { StandingFigures } from './rules.ts';
import { termsFromRow } from './terms.ts';
import type { LoanTerms, LoanView } from './views.ts';

const { Pending, Approved, Returned } = LoanStatus;

/** A loan as read by a command: its view, and the instants a new transition may not precede. */
export interface LoanRecord {
  view: LoanView;
  /** `updated_at` and every recorded instant of the loan: the floors of the command's instant. */
  instants: Date[];
  /** The loan's copy as read with it (not locked), when it names one. */
  copy?: CopyRecord | undefined;
  /** With `pick` on a loan that names no copy: the first available copy of its entry (not locked). */
  picked?: CopyRecord | undefined;
  /** The loan's catalog entry. */
  entry: { category: Category; titleOrName: string; replacementCost: number | null };
}

/**
 * The loan `loanId` with its copy and its entry, or undefined — one statement (two when a
 * `'locked copy'` read finds a loan without a copy). On PostgreSQL the loan row is locked (`FOR
 * UPDATE`), with `'locked copy'` its copy too in the same statement; a command that changes a copy
 * otherwise locks it with {@link readCopy}. With `'picked copy'` on SQLite (where writers are
 * serialized and nothing is locked), a loan that names no copy comes with the first available copy
 * of its entry. Each extra applies on its dialect only and is ignored on the other.
 */
export async function readLoan(
  db: SwlKysely,
  loanId: number,
  postgres: boolean,
  extra: 'picked copy' | 'locked copy' | null = null,
): Promise<LoanRecord | undefined> {
  const applies = extra === (postgres ? 'locked copy' : 'picked copy');
  const record = await readLoanAs(db, loanId, postgres, applies ? extra : null);
  // A loan without a copy reads as missing when the copy is joined to be locked: read it plainly.
  return record === undefined && applies && postgres ? readLoanAs(db, loanId, postgres, null) : record;
}

async function readLoanAs(
  db: SwlKysely,
  loanId: number,
  postgres: boolean,
  extra: 'picked copy' | 'locked copy' | null,
): Promise<LoanRecord | undefined> {
  const lock = postgres ? (extra === 'locked copy' ? 'for update of l, c' : 'for update of l') : '';
  const name = `loan.read ${extra ?? ''} ${lock}`;
  const query = compiled(db, postgres, name, [loanId], (db, id) => {
    const copy =
      extra === 'picked copy'
        ? sql<number>`coalesce(l.instance_id, (select a.id from swl_item_instance a where a.catalog_entry_id = l.catalog_entry_id and a.status = ${CopyStatus.Available} and ${notSetAside('a.id')} order by a.sequence limit 1))`
        : sql<number>`l.instance_id`;
    const base = db.selectFrom('swl_loan as l').innerJoin('swl_catalog as e', 'e.id', 'l.catalog_entry_id');
    const joined =
      extra === 'locked copy'
        ? base.innerJoin('swl_item_instance as c', 'c.id', 'l.instance_id')
        : base.leftJoin('swl_item_instance as c', (j) => j.on('c.id', '=', copy));
    const q = joined
      .selectAll('l')
      .select([
        'c.id as copy_id',
        'c.code as copy_code',
        'c.status as copy_status',
        'c.version as copy_version',
        'c.catalog_entry_id as copy_catalog_entry_id',
        'e.category as entry_category',
        'e.title_or_name as entry_title',
        'e.replacement_cost as entry_replacement_cost',
      ])
      .where('l.id', '=', id);
    if (!postgres) return q;
    return extra === 'locked copy' ? q.forUpdate(['l', 'c']) : q.forUpdate('l');
  });
  const row = (await db.executeQuery(query)).rows[0];
  if (!row) return undefined;
  const record: LoanRecord = {
    ...loanRecordFromRow(row as unknown as Record<string, unknown>),
    entry: {
      category: row.entry_category,
      titleOrName: row.entry_title,
      replacementCost: toInt(row.entry_replacement_cost),
    },
  };
  if (row.copy_id !== null) {
    const copy = copyFromRow({
      id: row.copy_id,
      catalog_entry_id: row.copy_catalog_entry_id as number,
      code: row.copy_code as string,
      status: row.copy_status as CopyStatus,
      version: row.copy_version as number,
    });
    if (row.instance_id !== null) record.copy = copy;
    else record.picked = copy;
  }
  return record;
}

/** Decodes a `swl_loan` row (plus `copy_code`) into a {@link LoanRecord}. */
export function loanRecordFromRow(row: Record<string, unknown>): Pick<LoanRecord, 'view' | 'instants'> {
  const at = (column: string) => toInstant(row[column] as StoredInstant | null);
  const id = (column: string) => toInt(row[column] as number | string | null);
  const view: LoanView = {
    id: id('id') as number,
    status: row.status as LoanStatus,
    borrowerId: id('borrower_id') as number,
    catalogEntryId: id('catalog_entry_id') as number,
    copyId: id('instance_id'),
    copyCode: (row.copy_code as string | null | undefined) ?? null,
    environment: (row.environment as string | null) ?? null,
    requestDate: at('request_date') as Date,
    requestedDueDate: at('requested_due_date'),
    approvalDate: at('approval_date'),
    dueDate: at('due_date'),
    returnDate: at('return_date'),
    rejectionDate: at('rejection_date'),
    observation: (row.observation as string | null) ?? null,
    requestedById: id('requested_by_id'),
    approvedById: id('approved_by_id'),
    rejectedById: id('rejected_by_id'),
    rejectionReason: (row.rejection_reason as string | null) ?? null,
    receivedById: id('received_by_id'),
    returnOutcome: (row.return_outcome as LoanView['returnOutcome']) ?? null,
    renewalCount: id('renewal_count') as number,
    overdueFine: id('overdue_fine') as number,
    replacementCharge: id('replacement_charge') as number,
    finalPenalty: id('final_penalty') as number,
    terms: termsFromRow(row),
    penaltySettlement: (row.penalty_settlement as LoanView['penaltySettlement']) ?? null,
    penaltySettledAt: at('penalty_settled_at'),
    penaltySettledById: id('penalty_settled_by_id'),
    version: id('version') as number,
  };
  const instants = [
    at('updated_at'),
    view.requestDate,
    view.approvalDate,
    view.rejectionDate,
    view.returnDate,
    view.penaltySettledAt,
  ].filter((d): d is Date => d !== null);
  return { view, instants };
}

/** A copy as a command sees it. */
export interface CopyRecord {
  id: number;
  catalogEntryId: number;
  code: string;
  status: CopyStatus;
  version: number;
}

const copyColumns = ['id', 'catalog_entry_id', 'code', 'status', 'version'] as const;

function copyFromRow(row: {
  id: number | string;
  catalog_entry_id: number | string;
  code: string;
  status: CopyStatus;
  version: number | string;
}): CopyRecord {
  return {
    id: toInt(row.id),
    catalogEntryId: toInt(row.catalog_entry_id),
    code: row.code,
    status: row.status,
    version: toInt(row.version),
  };
}

/** The copy `copyId`, or undefined; `lock`: `FOR UPDATE` (PostgreSQL). */
export async function readCopy(
  db: SwlKysely,
  copyId: number,
  postgres: boolean,
  lock: boolean,
): Promise<CopyRecord | undefined> {
  const query = compiled(db, postgres, lock ? 'copy.read for update' : 'copy.read', [copyId], (db, id) => {
    const q = db.selectFrom('swl_item_instance').select(copyColumns).where('id', '=', id);
    return lock ? q.forUpdate() : q;
  });
  const row = (await db.executeQuery(query)).rows[0];
  return row ? copyFromRow(row) : undefined;
}

/**
 * The first available copy of an entry (by copy number), locked on PostgreSQL: a copy another
 * transaction holds is skipped (`SKIP LOCKED`) while an unlocked one exists; when every available
 * copy is held, the approval waits for the first one and takes it if it is still available once
 * released (PostgreSQL re-checks the row after the wait and moves on when it no longer matches), so
 * an available copy is never reported unavailable. Undefined only when no copy is available.
 */
export async function pickAvailableCopy(
  db: SwlKysely,
  catalogEntryId: number,
  postgres: boolean,
): Promise<CopyRecord | undefined> {
  const pick = async (lock: 'none' | 'skip locked' | 'wait') => {
    const query = compiled(db, postgres, `copy.pick ${lock}`, [catalogEntryId], (db, entryId) => {
      const q = db
        .selectFrom('swl_item_instance')
        .select(copyColumns)
        .where('catalog_entry_id', '=', entryId)
        .where('status', '=', CopyStatus.Available)
        // A copy set aside for a hold waits for that borrower (src/holds/).
        .where(notSetAside('swl_item_instance.id'))
        .orderBy('sequence', 'asc')
        .limit(1);
      return lock === 'none' ? q : lock === 'wait' ? q.forUpdate() : q.forUpdate().skipLocked();
    });
    const row = (await db.executeQuery(query)).rows[0];
    return row ? copyFromRow(row) : undefined;
  };
  if (!postgres) return pick('none');
  return (await pick('skip locked')) ?? pick('wait');
}

/** A lending policy's row, decoded. */
export interface PolicyRecord {
  maxActiveLoans: number;
  environmentRequired: boolean;
  terms: LoanTerms;
}

/** What a lending decision needs about a borrower and a catalog entry, read in one statement. */
export interface LendingFacts {
  borrower: { id: number; role: Role; active: boolean } | undefined;
  entry:
    | {
        id: number;
        category: Category;
        titleOrName: string;
        withdrawnAt: Date | null;
        /** Minor units; null = unknown. */
        replacementCost: number | null;
      }
    | undefined;
  /** The policy for the entry's category and the borrower's role, or null when there is none. */
  policy: PolicyRecord | null;
  /** The borrower's figures at `now` (automatic blocks), plus `activeInCategory`. */
  figures: StandingFigures & { activeInCategory: number };
}

/**
 * The borrower, the entry, the policy between them and the borrower's figures at `now` — one
 * statement. `borrower`/`entry` are undefined when their row does not exist.
 */
export async function readLendingFacts(
  db: SwlKysely,
  borrowerId: number,
  catalogEntryId: number,
  now: Date,
  postgres: boolean,
): Promise<LendingFacts> {
  const at = instantParam(postgres, now);
  const query = compiled(db, postgres, 'lending.facts', [borrowerId, catalogEntryId, at], (db, b, e, at) =>
    lendingFactsQuery(db, b, e, at),
  );
  const row = (await db.executeQuery(query)).rows[0];
  if (!row) throw new Error('the lending facts query returns one row');
  return {
    borrower:
      row.borrower_id === null
        ? undefined
        : {
            id: toInt(row.borrower_id),
            role: row.borrower_role as Role,
            active: toBool(row.borrower_active as boolean),
          },
    entry:
      row.entry_id === null
        ? undefined
        : {
            id: toInt(row.entry_id),
            category: row.entry_category as Category,
            titleOrName: row.entry_title as string,
            withdrawnAt: toInstant(row.entry_withdrawn_at),
            replacementCost: toInt(row.entry_replacement_cost),
          },
    policy:
      row.policy_id === null
        ? null
        : {
            maxActiveLoans: toInt(row.policy_max_active_loans as number),
            environmentRequired: toBool(row.policy_environment_required as boolean),
            terms: {
              loanPeriod: toInt(row.policy_loan_period as number),
              loanPeriodUnit: row.policy_loan_period_unit as LoanTerms['loanPeriodUnit'],
              maxRenewals: toInt(row.policy_max_renewals as number),
              fineAmount: toInt(row.policy_fine_amount as number),
              fineInterval: row.policy_fine_interval as LoanTerms['fineInterval'],
              gracePeriodMinutes: toInt(row.policy_grace_period_minutes as number),
              graceMode: row.policy_grace_mode as LoanTerms['graceMode'],
              intervalRounding: row.policy_interval_rounding as LoanTerms['intervalRounding'],
              maxFine: toInt(row.policy_max_fine as number),
              capAtReplacementCost: toBool(row.policy_cap_at_replacement_cost as boolean),
            },
          },
    figures: figuresFromRow(row),
  };
}

/** The statement of {@link readLendingFacts}: the figures aggregate joined to the borrower, entry and policy rows. */
function lendingFactsQuery(db: SwlKysely, borrowerId: number, catalogEntryId: number, at: Date | number) {
  return db
    .selectFrom(figuresQuery(db, borrowerId, at, catalogEntryId).as('f'))
    .leftJoin('swl_user as b', (j) => j.on('b.id', '=', borrowerId))
    .leftJoin('swl_catalog as e', (j) => j.on('e.id', '=', catalogEntryId))
    .leftJoin('swl_loan_policy as p', (j) =>
      j.onRef('p.category', '=', 'e.category').onRef('p.role', '=', 'b.role'),
    )
    .selectAll('f')
    .select([
      'b.id as borrower_id',
      'b.role as borrower_role',
      'b.active as borrower_active',
      'e.id as entry_id',
      'e.category as entry_category',
      'e.title_or_name as entry_title',
      'e.withdrawn_at as entry_withdrawn_at',
      'e.replacement_cost as entry_replacement_cost',
      'p.id as policy_id',
      'p.max_active_loans as policy_max_active_loans',
      'p.environment_required as policy_environment_required',
      'p.loan_period as policy_loan_period',
      'p.loan_period_unit as policy_loan_period_unit',
      'p.max_renewals as policy_max_renewals',
      'p.fine_amount as policy_fine_amount',
      'p.fine_interval as policy_fine_interval',
      'p.grace_period_minutes as policy_grace_period_minutes',
      'p.grace_mode as policy_grace_mode',
      'p.interval_rounding as policy_interval_rounding',
      'p.max_fine as policy_max_fine',
      'p.cap_at_replacement_cost as policy_cap_at_replacement_cost',
    ]);
}

/**
 * A borrower's figures at `now` (automatic blocks, `docs/DESIGN.md` §5): approved loans past due,
 * returned loans with an unsettled penalty and their sum, pending + approved loans. One aggregate
 * over the borrower's loans (index `swl_loan_borrower_status_index`).
 */
export async function readBorrowerFigures(
  db: SwlKysely,
  borrowerId: number,
  now: Date,
  postgres: boolean,
): Promise<StandingFigures> {
  const at = instantParam(postgres, now);
  const query = compiled(db, postgres, 'borrower.figures', [borrowerId, at], (db, b, at) =>
    figuresQuery(db, b, at, null),
  );
  const row = (await db.executeQuery(query)).rows[0];
  if (!row) throw new Error('the figures query returns one row');
  return figuresFromRow(row);
}

const MONEY_CAP = sql.lit(MAX_MONEY);

/** The figures aggregate; with `catalogEntryId`, also the active loans in that entry's category. */
function figuresQuery(db: SwlKysely, borrowerId: number, at: Date | number, catalogEntryId: number | null) {
  const unsettled = sql`l.status = ${Returned} and l.final_penalty > 0 and l.penalty_settlement is null`;
  const unsettledSum = sql`coalesce(sum(case when ${unsettled} then l.final_penalty else 0 end), 0)`;
  const inCategory =
    catalogEntryId === null
      ? sql`0`
      : sql`case when l.status in (${Pending}, ${Approved}) and lc.category = (select category from swl_catalog where id = ${catalogEntryId}) then 1 else 0 end`;
  return db
    .selectFrom('swl_loan as l')
    .leftJoin('swl_catalog as lc', 'lc.id', 'l.catalog_entry_id')
    .select([
      sql<
        number | string
      >`coalesce(sum(case when l.status = ${Approved} and l.due_date < ${at} then 1 else 0 end), 0)`.as(
        'overdue_loans',
      ),
      sql<number | string>`coalesce(sum(case when ${unsettled} then 1 else 0 end), 0)`.as(
        'unsettled_penalties',
      ),
      // Held at MAX_MONEY in SQL: a sum of several large penalties stays a safe JS number.
      sql<
        number | string
      >`case when ${unsettledSum} > ${MONEY_CAP} then ${MONEY_CAP} else ${unsettledSum} end`.as(
        'unsettled_amount',
      ),
      sql<
        number | string
      >`coalesce(sum(case when l.status in (${Pending}, ${Approved}) then 1 else 0 end), 0)`.as(
        'active_loans',
      ),
      sql<number | string>`coalesce(sum(${inCategory}), 0)`.as('active_in_category'),
    ])
    .where('l.borrower_id', '=', borrowerId)
    .where('l.status', 'in', [Pending, Approved, Returned]);
}

function figuresFromRow(row: {
  overdue_loans: number | string;
  unsettled_penalties: number | string;
  unsettled_amount: number | string;
  active_loans: number | string;
  active_in_category: number | string;
}): StandingFigures & { activeInCategory: number } {
  return {
    overdueLoans: toInt(row.overdue_loans),
    unsettledPenalties: toInt(row.unsettled_penalties),
    unsettledAmount: Math.min(toInt(row.unsettled_amount), MAX_MONEY),
    activeLoans: toInt(row.active_loans),
    activeInCategory: toInt(row.active_in_category),
  };
}

/**
 * Other borrowers' pending requests that wait for the title of `loan`, or for its copy: a renewal
 * would hold them off (`HOLD_PENDING`).
 */
export async function countWaitingRequests(
  db: SwlKysely,
  loan: LoanView,
  postgres: boolean,
): Promise<number> {
  const named = loan.copyId !== null;
  const args: [number, number, number] = [loan.catalogEntryId, loan.borrowerId, loan.copyId ?? 0];
  const query = compiled(
    db,
    postgres,
    named ? 'loan.waiting copy' : 'loan.waiting',
    args,
    (db, entry, borrower, copy) =>
      db
        .selectFrom('swl_loan')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('catalog_entry_id', '=', entry)
        .where('status', '=', Pending)
        .where('borrower_id', '!=', borrower)
        .where((eb) =>
          named
            ? eb.or([eb('instance_id', 'is', null), eb('instance_id', '=', copy)])
            : eb('instance_id', 'is', null),
        ),
  );
  return toInt((await db.executeQuery(query)).rows[0]?.n ?? 0);
}
