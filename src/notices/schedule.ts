/**
 * The notice schedule in SQL: which notices are due at an instant, computed by the database from
 * the loans, bookings and holds and the rules (`swl_notice_rule`), and the claim that hands them
 * out. Every statement runs on the claiming transaction. Source: issue 17.
 *
 * **Candidates.** For each subject (a loan, booking or hold) and each rule of its category × its
 * borrower's role and of a trigger that applies to the subject's state, the moment is
 * `anchor + offset`. A candidate is a moment that has come (`≤ now`), not before the subject began
 * (a loan's approval, a booking's creation, a hold's set-aside: a reminder whose moment preceded
 * the loan is never sent) and still relevant (the loan is out with that due date; the penalty is
 * unsettled; the booking is confirmed and its pickup window open; the hold's copy is set aside).
 * Of a subject's candidates only the **latest** counts: after an outage, a loan now 7 days overdue
 * gets the 7-day notice once — not the due-soon, due and 1- and 3-day notices it missed.
 *
 * **Claim.** (1) a claim whose lease ran out on its last attempt is given up; (2) pending notices
 * that are no longer the latest candidate of their subject are dropped (`superseded` when the
 * subject's latest moment is later, else `not_relevant`: a returned loan's overdue notice, a
 * removed rule's notice); (3) the latest
 * candidates are inserted, each once (`swl_notice_once`, `on conflict do nothing`); (4) the due
 * notices of the first `limit` borrowers (earliest moment first) are claimed in one update, each
 * borrower's under one digest id. On PostgreSQL the claim holds a transaction-level advisory lock,
 * so two workers' claims run one after the other and never split a borrower across two digests;
 * SQLite's writers are serialized by its write lock.
 *
 * Index use: loans through `swl_loan_status_due_date_index` (approved, due before now minus the
 * smallest offset) and `swl_loan_unsettled_penalty_index`; bookings and holds through their status
 * indexes; notices through `swl_notice_status_next_index` and `swl_notice_once`.
 *
 * @module
 * @internal
 */
import { type RawBuilder, sql } from 'kysely';
import { NoticeStatus, type NoticeTrigger } from '../domain/vocabulary.ts';
import { instantParam, type StoredInstant, type SwlKysely, toInstant, toInt } from '../kernel/db.ts';

/** The advisory lock key of a claim on PostgreSQL (`pg_advisory_xact_lock`): "swl-notice" in ASCII. */
const CLAIM_LOCK_KEY = sql.lit(0x73776c2d6e6f74);

const Pending = sql.lit(NoticeStatus.Pending);
const Sending = sql.lit(NoticeStatus.Sending);

/** A notice row as the claim's `returning` gives it. */
export interface NoticeRow {
  id: number | string;
  borrower_id: number | string;
  subject_type: string;
  subject_id: number | string;
  trigger: string;
  offset_minutes: number | string;
  anchor_at: StoredInstant;
  fire_at: StoredInstant;
  template_key: string;
  status: string;
  attempts: number | string;
  next_attempt_at: StoredInstant;
  claim_token: string | null;
  lease_until: StoredInstant | null;
  last_error: string | null;
  sent_at: StoredInstant | null;
  closed_at: StoredInstant | null;
  drop_reason: string | null;
  created_at: StoredInstant;
}

/** What one claim is asked for. */
export interface ClaimRequest {
  now: Date;
  /** Digests (borrowers) at most. */
  limit: number;
  /** Prefix of the digest ids (`<token>.<borrowerId>`). */
  token: string;
  /** End of the claim's lease. */
  leaseUntil: Date;
  /** A claim whose lease runs out at this many attempts is given up. */
  maxAttempts: number;
}

/** `column + minutes`, as each database adds minutes to an instant. */
function plusMinutes(postgres: boolean, column: RawBuilder<unknown>): RawBuilder<unknown> {
  return postgres
    ? sql`(${column} + r.offset_minutes * interval '1 minute')`
    : sql`(${column} + r.offset_minutes * 60000)`;
}

/** The smallest offset of each trigger that has rules (a trigger without rules is left out). */
async function smallestOffsets(db: SwlKysely): Promise<Map<NoticeTrigger, number>> {
  const rows = await db
    .selectFrom('swl_notice_rule')
    .select(['trigger', sql<number | string>`min(offset_minutes)`.as('smallest')])
    .groupBy('trigger')
    .execute();
  return new Map(rows.map((r) => [r.trigger as NoticeTrigger, toInt(r.smallest)]));
}

/** The `select` of one trigger's candidates. */
function triggerCandidates(
  trigger: NoticeTrigger,
  postgres: boolean,
  now: Date | number,
  smallestOffset: number,
): RawBuilder<unknown> {
  const rule = (alias: string) =>
    sql`join swl_catalog e on e.id = ${sql.ref(`${alias}.catalog_entry_id`)}
      join swl_user u on u.id = ${sql.ref(`${alias}.borrower_id`)}
      join swl_notice_rule r on r.trigger = ${sql.lit(trigger)} and r.category = e.category and r.role = u.role`;
  const columns = (type: string, alias: string, anchor: string) => {
    const fire = plusMinutes(postgres, sql.ref(`${alias}.${anchor}`));
    return {
      fire,
      select: sql`select ${sql.lit(type)} as subject_type, ${sql.ref(`${alias}.id`)} as subject_id,
        ${sql.ref(`${alias}.borrower_id`)} as borrower_id, r.trigger as trigger, r.offset_minutes as offset_minutes,
        r.template_key as template_key, ${sql.ref(`${alias}.${anchor}`)} as anchor_at, ${fire} as fire_at`,
    };
  };
  // `now - smallest offset`: no candidate's anchor is later (its moment, anchor + offset ≥ anchor +
  // smallest, has come), so bounding the anchor by it changes no result and gives an index range.
  const bound = postgres
    ? sql`${now}::timestamptz - ${sql.lit(smallestOffset)} * interval '1 minute'`
    : sql`${now} - ${sql.lit(smallestOffset * 60_000)}`;
  switch (trigger) {
    case 'loan_due': {
      // Approved loans due at or before `now - smallest offset`: an index range, whatever the history.
      const c = columns('loan', 'l', 'due_date');
      return sql`${c.select} from swl_loan l ${rule('l')}
        where l.status = ${sql.lit('aprobado')} and l.due_date <= ${bound}
          and ${c.fire} <= ${now} and ${c.fire} >= l.approval_date`;
    }
    case 'penalty_unsettled': {
      // Unsettled penalties returned at or before `now - smallest offset`: a range of the partial
      // index (without the bound SQLite reads every returned loan through the status index).
      const c = columns('loan', 'l', 'return_date');
      return sql`${c.select} from swl_loan l ${rule('l')}
        where l.status = ${sql.lit('devuelto')} and l.final_penalty > 0 and l.penalty_settlement is null
          and l.return_date <= ${bound}
          and ${c.fire} <= ${now} and ${c.fire} >= l.return_date`;
    }
    case 'reservation_start': {
      const c = columns('reservation', 'x', 'starts_at');
      return sql`${c.select} from swl_reservation x ${rule('x')}
        where x.status = ${sql.lit('confirmada')} and x.pickup_deadline > ${now}
          and ${c.fire} <= ${now} and ${c.fire} >= x.created_at`;
    }
    case 'hold_ready':
    case 'hold_expiring': {
      const c = columns('hold', 'h', trigger === 'hold_ready' ? 'ready_at' : 'expires_at');
      return sql`${c.select} from swl_hold h ${rule('h')}
        where h.status = ${sql.lit('lista')} and h.expires_at > ${now}
          and ${c.fire} <= ${now} and ${c.fire} >= h.ready_at`;
    }
  }
}

/**
 * `with c as (…)`: every candidate at `now`, ranked within its subject (`rn = 1`: the latest),
 * or null when the schedule has no rule at all.
 */
async function candidatesCte(
  db: SwlKysely,
  postgres: boolean,
  now: Date,
): Promise<RawBuilder<unknown> | null> {
  const offsets = await smallestOffsets(db);
  if (offsets.size === 0) return null;
  const at = instantParam(postgres, now);
  const parts = [...offsets].map(([trigger, smallest]) => triggerCandidates(trigger, postgres, at, smallest));
  return sql`with c0 as (${sql.join(parts, sql` union all `)}),
    c as (select c0.*, row_number() over (partition by subject_type, subject_id
      order by fire_at desc, offset_minutes desc, trigger desc) as rn from c0)`;
}

/** The claimable condition on `swl_notice` at `now`: pending and due, or claimed with its lease run out. */
function claimable(now: Date | number): RawBuilder<unknown> {
  return sql`((status = ${Pending} and next_attempt_at <= ${now}) or (status = ${Sending} and lease_until <= ${now}))`;
}

/**
 * Steps (1)–(4) of the claim (see the module comment) on `db`, the claiming transaction. Returns
 * the claimed notices, each with its digest id in `claim_token`.
 */
export async function claimDueNotices(
  db: SwlKysely,
  postgres: boolean,
  request: ClaimRequest,
): Promise<NoticeRow[]> {
  if (postgres) await sql`select pg_advisory_xact_lock(${CLAIM_LOCK_KEY})`.execute(db);
  const now = instantParam(postgres, request.now);
  // (1) A claim whose lease ran out on its last attempt: given up.
  await sql`update swl_notice set status = ${sql.lit(NoticeStatus.Failed)}, closed_at = ${now},
      last_error = coalesce(last_error, 'the lease of the last attempt ran out'), lease_until = null,
      version = version + 1, updated_at = ${now}
    where status = ${Sending} and lease_until <= ${now} and attempts >= ${request.maxAttempts}`.execute(db);
  const cte = await candidatesCte(db, postgres, request.now);
  const latest = sql`c.rn = 1 and c.subject_type = swl_notice.subject_type and c.subject_id = swl_notice.subject_id
    and c.trigger = swl_notice.trigger and c.offset_minutes = swl_notice.offset_minutes and c.anchor_at = swl_notice.anchor_at`;
  const waiting = sql`(status = ${Pending} or (status = ${Sending} and lease_until <= ${now}))`;
  // (2) Waiting notices that are no longer their subject's latest candidate: dropped.
  const dropReason = cte
    ? sql`case when exists (select 1 from c where c.rn = 1 and c.subject_type = swl_notice.subject_type
        and c.subject_id = swl_notice.subject_id and c.fire_at > swl_notice.fire_at) then 'superseded' else 'not_relevant' end`
    : sql`'not_relevant'`;
  await sql`${cte ?? sql``} update swl_notice set status = ${sql.lit(NoticeStatus.Dropped)},
      drop_reason = ${dropReason}, closed_at = ${now}, lease_until = null, version = version + 1, updated_at = ${now}
    where ${waiting} ${cte ? sql`and not exists (select 1 from c where ${latest})` : sql``}`.execute(db);
  // (3) The latest candidates, each made once.
  if (cte) {
    await sql`${cte} insert into swl_notice (borrower_id, subject_type, subject_id, trigger, offset_minutes,
        anchor_at, fire_at, template_key, status, attempts, next_attempt_at, version, created_at, updated_at)
      select borrower_id, subject_type, subject_id, trigger, offset_minutes, anchor_at, fire_at, template_key,
        ${Pending}, 0, fire_at, 1, ${now}, ${now}
      from c where c.rn = 1
      on conflict do nothing`.execute(db);
  }
  // (4) The due notices of the first `limit` borrowers, one digest id each.
  const token = request.token;
  const result = await sql<NoticeRow>`update swl_notice set status = ${Sending}, attempts = attempts + 1,
      claim_token = cast(${token} as text) || '.' || cast(borrower_id as text), lease_until = ${instantParam(postgres, request.leaseUntil)},
      version = version + 1, updated_at = ${now}
    where ${claimable(now)} and borrower_id in (
      select borrower_id from swl_notice where ${claimable(now)}
      group by borrower_id order by min(fire_at), borrower_id limit ${request.limit})
    returning id, borrower_id, subject_type, subject_id, trigger, offset_minutes, anchor_at, fire_at, template_key,
      status, attempts, next_attempt_at, claim_token, lease_until, last_error, sent_at, closed_at, drop_reason, created_at`.execute(
    db,
  );
  return result.rows;
}

/** Marks a digest's claimed notices sent; returns how many. */
export async function markDigestSent(
  db: SwlKysely,
  postgres: boolean,
  digestId: string,
  at: Date,
): Promise<number> {
  const now = instantParam(postgres, at);
  const result = await sql`update swl_notice set status = ${sql.lit(NoticeStatus.Sent)}, sent_at = ${now},
      lease_until = null, version = version + 1, updated_at = ${now}
    where claim_token = ${digestId} and status = ${Sending}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Marks a digest's claimed notices failed at `at`: those with `attempts >= maxAttempts` are given
 * up (`fallido`), the others wait until `retryAt`.
 */
export async function markDigestFailed(
  db: SwlKysely,
  postgres: boolean,
  digestId: string,
  error: string,
  at: Date,
  retryAt: (attempts: number) => Date,
  maxAttempts: number,
): Promise<{ retrying: number; failed: number; nextAttemptAt: Date | null }> {
  const now = instantParam(postgres, at);
  const claimed = await db
    .selectFrom('swl_notice')
    .select(['id', 'attempts'])
    .where('claim_token', '=', digestId)
    .where('status', '=', NoticeStatus.Sending)
    .execute();
  let retrying = 0;
  let failed = 0;
  let nextAttemptAt: Date | null = null;
  for (const row of claimed) {
    const attempts = toInt(row.attempts);
    const id = toInt(row.id);
    if (attempts >= maxAttempts) {
      await sql`update swl_notice set status = ${sql.lit(NoticeStatus.Failed)}, last_error = ${error}, closed_at = ${now},
          lease_until = null, version = version + 1, updated_at = ${now} where id = ${id}`.execute(db);
      failed += 1;
    } else {
      const next = retryAt(attempts);
      await sql`update swl_notice set status = ${Pending}, last_error = ${error}, next_attempt_at = ${instantParam(postgres, next)},
          lease_until = null, version = version + 1, updated_at = ${now} where id = ${id}`.execute(db);
      retrying += 1;
      if (!nextAttemptAt || next < nextAttemptAt) nextAttemptAt = next;
    }
  }
  return { retrying, failed, nextAttemptAt };
}

/** Decodes a notice row. */
export function noticeFromRow(row: NoticeRow) {
  return {
    id: toInt(row.id),
    borrowerId: toInt(row.borrower_id),
    subjectType: row.subject_type,
    subjectId: toInt(row.subject_id),
    trigger: row.trigger,
    offsetMinutes: toInt(row.offset_minutes),
    anchorAt: toInstant(row.anchor_at),
    fireAt: toInstant(row.fire_at),
    templateKey: row.template_key,
    status: row.status,
    attempts: toInt(row.attempts),
    nextAttemptAt: toInstant(row.next_attempt_at),
    digestId: row.claim_token,
    leaseUntil: toInstant(row.lease_until),
    lastError: row.last_error,
    sentAt: toInstant(row.sent_at),
    closedAt: toInstant(row.closed_at),
    dropReason: row.drop_reason,
    createdAt: toInstant(row.created_at),
  };
}
