/**
 * The consistency checks of the package's tables: the invariants the test suite holds the desk to
 * (test/reliability/soak.test.ts, test/reliability/model.test.ts), as one function an operator's
 * tool (`swl doctor`) or a host runs after a restore, an import or a crash. Every check is a read;
 * nothing is changed.
 *
 * Source: issue 10 (the soak test's invariants), issue 14 (`swl doctor`).
 *
 * @module
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { ReferenceKind } from '@mikro-orm/core';
import { isPostgres } from '../db/dialect.ts';
import { MAX_MONEY, TABLE_PREFIX } from '../entities/common.ts';

/** The rules {@link checkInvariants} checks, by the name a violation carries. */
export const INVARIANT_RULES = {
  'copy-held-iff-one-approved-loan': 'a copy is prestado iff exactly one aprobado loan holds it (never two)',
  'approved-loan-has-copy': 'an aprobado loan holds a copy',
  'loan-dates':
    'request ≤ approval ≤ return, rejection ≥ request, settlement ≥ return, and the dates each status needs',
  'event-order': "each loan's (and each copy's) events are in non-decreasing time order by id",
  'loan-events':
    "a loan's events are `requested`, then exactly one per transition matching its status and renewals, chained from → to, ending in its status",
  'copy-events':
    "a copy's events are chained from → to and end in its status (a copy without events is disponible)",
  penalties:
    'penalties are non-negative integers with final = overdue + replacement (held at MAX_MONEY); settled only when positive, on a returned loan',
  'amounts-non-negative': 'every amount of money (fines, caps, replacement costs) is a non-negative integer',
  'foreign-keys': 'every reference points at an existing row',
  integrity: 'the database file is intact (SQLite `PRAGMA integrity_check`)',
  'event-tx-id':
    'PostgreSQL: every event row carries the id of the transaction that wrote it (the outbox needs it)',
  'reservation-events':
    "a reservation's events are `requested`, then one per transition, chained from → to, ending in its status",
  'reservation-copy-overlap': 'no two holding bookings of one copy overlap in [startsAt, blocksUntil)',
  'reservation-stock':
    'at no instant do holding bookings of an entry take more units than it has copies not withdrawn',
  'hold-events':
    "a hold's events are `placed`, then one per transition, chained from → to, ending in its status",
  'hold-ready-copy': 'a hold awaiting pickup (`lista`) has a copy of its entry, and that copy is disponible',
  notices:
    'a notice is about a loan, booking or hold of its own borrower, fires at anchor + offset, and has what its status needs (a digest and lease while enviando, sentAt once enviado, closedAt once fallido or descartado)',
} as const;

/** One of {@link INVARIANT_RULES}. */
export type InvariantRule = keyof typeof INVARIANT_RULES;

/** One broken invariant: which rule, where (table and row id, when there is one), and what. */
export interface InvariantViolation {
  rule: InvariantRule;
  /** The table of the offending row (null for a whole-database finding). */
  table: string | null;
  /** The offending row's id (null for a whole-database finding). */
  id: number | null;
  /** What is wrong, e.g. `copy 12 is prestado with 0 aprobado loan(s)`. */
  message: string;
}

/** What {@link checkInvariants} found. */
export interface InvariantReport {
  /** True when no invariant is broken. */
  ok: boolean;
  /** The rules checked on this database. */
  rules: InvariantRule[];
  /** The violations, up to `maxPerRule` per rule. */
  violations: InvariantViolation[];
  /** Violations found but not listed (beyond `maxPerRule`), per rule. */
  omitted: Partial<Record<InvariantRule, number>>;
}

/** Options of {@link checkInvariants}. */
export interface CheckInvariantsOptions {
  /** At most this many violations listed per rule (default 100); the rest are counted in `omitted`. */
  maxPerRule?: number;
}

type Row = Record<string, unknown>;

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * Checks the invariants of the package's tables, in SQL and in memory (the loan and copy event
 * trails are read whole: one pass over `swl_loan`, `swl_loan_event`, `swl_item_instance` and
 * `swl_instance_event`). Read-only.
 *
 * The rules ({@link INVARIANT_RULES}): a copy is `prestado` iff exactly one `aprobado` loan holds
 * it; an `aprobado` loan has a copy; the dates of each loan status; events in time order; one loan
 * event per transition, chained and ending in the loan's status; copy events chained and ending in
 * the copy's status; penalties that add up; amounts non-negative; foreign keys (SQLite
 * `foreign_key_check`; PostgreSQL: each many-to-one column against its table); SQLite
 * `integrity_check`; PostgreSQL: no event row without its `tx_id`; reservations: events chained to
 * their status, no two holding bookings of one copy overlapping, and holding bookings never taking
 * more units of an entry than its copies not withdrawn (loans are not counted here: a copy kept
 * overdue or lost after a booking was made is a conflict of the desk, not of the database).
 *
 * Cost: one pass over each table, the loan and copy event trails held in memory; run it off-peak
 * on a large database.
 *
 * @example
 * ```ts
 * const report = await checkInvariants(orm);
 * for (const v of report.violations) console.error(`${v.table} #${v.id} [${v.rule}] ${v.message}`);
 * ```
 *
 * @param orm - an initialized MikroORM (or an EntityManager) on a migrated database.
 * @param options - how many violations to list per rule.
 * @returns the rules checked and each violation, with its table, row id and rule.
 */
export async function checkInvariants(
  orm: MikroORM | EntityManager,
  options: CheckInvariantsOptions = {},
): Promise<InvariantReport> {
  const maxPerRule = options.maxPerRule ?? 100;
  const em = 'em' in orm ? orm.em.fork() : orm.fork();
  const postgres = isPostgres(em);
  const conn = em.getConnection();
  const sql = async (query: string) => (await conn.execute(query)) as Row[];
  const violations: InvariantViolation[] = [];
  const omitted: Partial<Record<InvariantRule, number>> = {};
  const rules: InvariantRule[] = [];
  const report = (rule: InvariantRule, items: Omit<InvariantViolation, 'rule'>[]) => {
    if (!rules.includes(rule)) rules.push(rule);
    const listed = violations.filter((v) => v.rule === rule).length;
    const room = Math.max(0, maxPerRule - listed);
    for (const item of items.slice(0, room)) violations.push({ rule, ...item });
    if (items.length > room) omitted[rule] = (omitted[rule] ?? 0) + items.length - room;
  };

  // A copy is prestado iff exactly one aprobado loan holds it; never two; an aprobado loan has a copy.
  const holders = await sql(
    `select i.id, i.status,
            (select count(*) from swl_loan l where l.instance_id = i.id and l.status = 'aprobado') as holders
       from swl_item_instance i order by i.id`,
  );
  report(
    'copy-held-iff-one-approved-loan',
    holders
      .filter((r) => Number(r.holders) > 1 || (r.status === 'prestado') !== (Number(r.holders) === 1))
      .map((r) => ({
        table: 'swl_item_instance',
        id: num(r.id),
        message: `copy ${r.id} is ${r.status} with ${Number(r.holders)} aprobado loan(s)`,
      })),
  );
  report(
    'approved-loan-has-copy',
    (await sql(`select id from swl_loan where status = 'aprobado' and instance_id is null order by id`)).map(
      (r) => ({ table: 'swl_loan', id: num(r.id), message: `loan ${r.id} is aprobado without a copy` }),
    ),
  );

  // Dates: request ≤ approval ≤ return, rejection ≥ request, settlement ≥ return; what each status needs.
  report(
    'loan-dates',
    (
      await sql(
        `select id, status from swl_loan
          where (approval_date is not null and approval_date < request_date)
             or (return_date is not null and (approval_date is null or return_date < approval_date))
             or (rejection_date is not null and rejection_date < request_date)
             or (penalty_settled_at is not null and (return_date is null or penalty_settled_at < return_date))
             or (status = 'pendiente' and (approval_date is not null or return_date is not null
                                            or rejection_date is not null))
             or (status = 'aprobado' and (approval_date is null or due_date is null or due_date <= approval_date
                                          or return_date is not null or rejection_date is not null))
             or (status = 'devuelto' and (return_date is null or approval_date is null or rejection_date is not null))
             or (status = 'rechazado' and (rejection_date is null or approval_date is not null))
          order by id`,
      )
    ).map((r) => ({
      table: 'swl_loan',
      id: num(r.id),
      message: `loan ${r.id} (${r.status}) has inconsistent dates`,
    })),
  );

  // Each loan's events, and each copy's, in non-decreasing `at` order by id.
  for (const [table, owner] of [
    ['swl_loan_event', 'loan_id'],
    ['swl_instance_event', 'instance_id'],
  ] as const) {
    report(
      'event-order',
      (
        await sql(
          `select a.${owner} as owner, a.id as earlier, b.id as later from ${table} a
             join ${table} b on b.${owner} = a.${owner} and b.id > a.id and b.at < a.at
            order by a.id, b.id`,
        )
      ).map((r) => ({
        table,
        id: num(r.later),
        message: `${owner} ${r.owner}: event ${r.later} is earlier than event ${r.earlier}`,
      })),
    );
  }

  // Every loan: `requested`, then one event per transition matching its status, chained, ending in it.
  const loans = await sql('select id, status, renewal_count, penalty_settlement from swl_loan order by id');
  const loanEvents = await sql(
    'select loan_id, type, from_status, to_status from swl_loan_event order by id',
  );
  const eventsOf = groupBy(loanEvents, 'loan_id');
  const trail: Omit<InvariantViolation, 'rule'>[] = [];
  for (const loan of loans) {
    const id = Number(loan.id);
    const events = eventsOf.get(id) ?? [];
    const types = events.map((e) => String(e.type));
    const renewals = Array.from({ length: Number(loan.renewal_count) }, () => 'renewed');
    const expected: string[][] =
      loan.status === 'pendiente'
        ? [['requested']]
        : loan.status === 'rechazado'
          ? [
              ['requested', 'rejected'],
              ['requested', 'cancelled'],
            ]
          : loan.status === 'aprobado'
            ? [['requested', 'approved', ...renewals]]
            : [
                [
                  'requested',
                  'approved',
                  ...renewals,
                  'returned',
                  ...(loan.penalty_settlement === null ? [] : ['penalty_settled']),
                ],
              ];
    if (!expected.some((seq) => seq.join() === types.join())) {
      trail.push({
        table: 'swl_loan',
        id,
        message: `loan ${id} (${loan.status}, ${Number(loan.renewal_count)} renewals) has events [${types.join(', ')}], expected [${expected.map((seq) => seq.join(', ')).join('] or [')}]`,
      });
      continue;
    }
    let at: unknown = null;
    for (const e of events) {
      if (e.from_status !== at) {
        trail.push({
          table: 'swl_loan',
          id,
          message: `loan ${id}: event ${e.type} from ${e.from_status}, was ${at}`,
        });
      }
      at = e.to_status;
    }
    if (at !== loan.status) {
      trail.push({
        table: 'swl_loan',
        id,
        message: `loan ${id} is ${loan.status}, its last event leads to ${at}`,
      });
    }
  }
  report('loan-events', trail);

  // Every copy's events chained, ending in its status (a copy without events starts disponible).
  const copies = await sql('select id, status from swl_item_instance order by id');
  const copyEventsOf = groupBy(
    await sql('select instance_id, type, from_status, to_status from swl_instance_event order by id'),
    'instance_id',
  );
  const copyTrail: Omit<InvariantViolation, 'rule'>[] = [];
  for (const copy of copies) {
    const id = Number(copy.id);
    let at: unknown = 'disponible';
    for (const e of copyEventsOf.get(id) ?? []) {
      if (e.type !== 'created' && e.from_status !== at) {
        copyTrail.push({
          table: 'swl_item_instance',
          id,
          message: `copy ${id}: event ${e.type} from ${e.from_status}, was ${at}`,
        });
      }
      at = e.to_status;
    }
    if (at !== copy.status) {
      copyTrail.push({
        table: 'swl_item_instance',
        id,
        message: `copy ${id} is ${copy.status}, its events lead to ${at}`,
      });
    }
  }
  report('copy-events', copyTrail);

  // Reservations and holds: events chained from their creation to the status; bookings within the stock.
  report(
    'reservation-events',
    await eventTrails(sql, 'swl_reservation', 'swl_reservation_event', 'reservation_id', 'requested'),
  );
  report('hold-events', await eventTrails(sql, 'swl_hold', 'swl_hold_event', 'hold_id', 'placed'));
  report(
    'hold-ready-copy',
    (
      await sql(
        `select h.id, h.instance_id, i.status, i.catalog_entry_id as copy_entry, h.catalog_entry_id
           from swl_hold h left join swl_item_instance i on i.id = h.instance_id
          where h.status = 'lista' order by h.id`,
      )
    )
      .filter(
        (r) =>
          r.instance_id === null ||
          r.status !== 'disponible' ||
          Number(r.copy_entry) !== Number(r.catalog_entry_id),
      )
      .map((r) => ({
        table: 'swl_hold',
        id: num(r.id),
        message: `hold ${r.id} is lista with copy ${String(r.instance_id)} (${String(r.status)})`,
      })),
  );
  report('notices', await noticeFindings(sql, postgres));
  report(
    'reservation-copy-overlap',
    (
      await sql(
        `select a.id as a, b.id as b, a.instance_id from swl_reservation a
           join swl_reservation b on b.instance_id = a.instance_id and b.id > a.id
          where a.status in ('solicitada', 'confirmada') and b.status in ('solicitada', 'confirmada')
            and a.starts_at < b.blocks_until and b.starts_at < a.blocks_until
          order by a.id, b.id`,
      )
    ).map((r) => ({
      table: 'swl_reservation',
      id: num(r.b),
      message: `reservations ${r.a} and ${r.b} both hold copy ${r.instance_id} over overlapping ranges`,
    })),
  );
  report(
    'reservation-stock',
    (
      await sql(
        `select t.id, t.catalog_entry_id, t.starts_at,
                (select sum(o.quantity) from swl_reservation o
                  where o.catalog_entry_id = t.catalog_entry_id and o.status in ('solicitada', 'confirmada')
                    and o.starts_at <= t.starts_at and o.blocks_until > t.starts_at) as booked,
                (select count(*) from swl_item_instance i
                  where i.catalog_entry_id = t.catalog_entry_id and i.status <> 'retirado') as copies
           from swl_reservation t
          where t.status in ('solicitada', 'confirmada')
          order by t.id`,
      )
    )
      .filter((r) => Number(r.booked) > Number(r.copies))
      .map((r) => ({
        table: 'swl_reservation',
        id: num(r.id),
        message: `entry ${r.catalog_entry_id}: ${Number(r.booked)} units booked at the start of reservation ${r.id}, ${Number(r.copies)} copies`,
      })),
  );

  // Penalties: non-negative integers (64-bit columns: PostgreSQL returns them as strings) that add
  // up, held at MAX_MONEY; settled only when there is one, on a returned loan.
  const money = (v: unknown): bigint | null => (/^\d+$/.test(String(v)) ? BigInt(String(v)) : null);
  report(
    'penalties',
    (
      await sql(
        'select id, status, final_penalty, overdue_fine, replacement_charge, penalty_settlement from swl_loan order by id',
      )
    )
      .filter((r) => {
        const final = money(r.final_penalty);
        const overdue = money(r.overdue_fine);
        const replacement = money(r.replacement_charge);
        if (final === null || overdue === null || replacement === null) return true;
        const sum = overdue + replacement;
        const held = sum > BigInt(MAX_MONEY) ? BigInt(MAX_MONEY) : sum;
        return final !== held || (r.penalty_settlement !== null && (r.status !== 'devuelto' || final <= 0n));
      })
      .map((r) => ({
        table: 'swl_loan',
        id: num(r.id),
        message: `loan ${r.id}: final ${String(r.final_penalty)} = overdue ${String(r.overdue_fine)} + replacement ${String(r.replacement_charge)}, settlement ${String(r.penalty_settlement)}`,
      })),
  );

  // Every money column non-negative (the CHECK constraints a restore or an import may have lost).
  const amounts: Omit<InvariantViolation, 'rule'>[] = [];
  for (const [table, columns] of MONEY_COLUMNS) {
    const rows = await sql(
      `select id, ${columns.join(', ')} from ${table} where ${columns.map((c) => `${c} < 0`).join(' or ')} order by id`,
    );
    for (const r of rows) {
      const negative = columns.filter((c) => r[c] !== null && Number(r[c]) < 0);
      amounts.push({
        table,
        id: num(r.id),
        message: `${table} ${r.id}: ${negative.map((c) => `${c} = ${String(r[c])}`).join(', ')} (negative)`,
      });
    }
  }
  report('amounts-non-negative', amounts);

  // Foreign keys.
  if (!postgres) {
    const broken = await sql('pragma foreign_key_check');
    report(
      'foreign-keys',
      broken.map((r) => ({
        table: String(r.table),
        id: num(r.rowid),
        message: `${r.table} ${r.rowid}: references a missing row of ${r.parent}`,
      })),
    );
  } else {
    report('foreign-keys', await danglingReferences(em, sql));
  }

  if (!postgres) {
    const integrity = await sql('pragma integrity_check');
    const lines = integrity.map((r) => String(Object.values(r)[0]));
    // e.g. `CHECK constraint failed in swl_loan`, `NULL value in swl_loan.status` (no row id given).
    report(
      'integrity',
      lines.join() === 'ok'
        ? []
        : lines.map((line) => ({
            table: / in (swl_\w+)/.exec(line)?.[1] ?? null,
            id: null,
            message: `integrity_check: ${line}`,
          })),
    );
  } else {
    const missing: Omit<InvariantViolation, 'rule'>[] = [];
    for (const table of ['swl_loan_event', 'swl_instance_event', 'swl_reservation_event', 'swl_hold_event']) {
      for (const r of await sql(`select id from ${table} where tx_id is null order by id`)) {
        missing.push({ table, id: num(r.id), message: `${table} ${r.id} has no tx_id` });
      }
    }
    report('event-tx-id', missing);
  }

  return { ok: violations.length === 0 && Object.keys(omitted).length === 0, rules, violations, omitted };
}

/** The money columns of the package (minor units, never negative). */
const MONEY_COLUMNS: readonly (readonly [string, readonly string[]])[] = [
  [
    'swl_loan',
    ['overdue_fine', 'replacement_charge', 'final_penalty', 'terms_fine_amount', 'terms_max_fine'],
  ],
  ['swl_loan_policy', ['fine_amount', 'max_fine']],
  ['swl_catalog', ['replacement_cost']],
];

/**
 * The records of `table` whose events (in `events`, by id) do not start with `first` from no
 * status, chain from → to, and end in the record's status.
 */
async function eventTrails(
  sql: (query: string) => Promise<Row[]>,
  table: string,
  events: string,
  owner: string,
  first: string,
): Promise<Omit<InvariantViolation, 'rule'>[]> {
  const records = await sql(`select id, status from ${table} order by id`);
  const eventsOf = groupBy(
    await sql(`select ${owner}, type, from_status, to_status from ${events} order by id`),
    owner,
  );
  const found: Omit<InvariantViolation, 'rule'>[] = [];
  for (const r of records) {
    const id = Number(r.id);
    const trail = eventsOf.get(id) ?? [];
    let at: unknown = null;
    let chained = true;
    for (const e of trail) {
      if (e.from_status !== at) chained = false;
      at = e.to_status;
    }
    if (trail[0]?.type !== first || !chained || at !== r.status) {
      found.push({
        table,
        id,
        message: `${table} ${id} is ${r.status}, its events are [${trail.map((e) => `${e.type} ${e.from_status}→${e.to_status}`).join(', ')}]`,
      });
    }
  }
  return found;
}

function groupBy(rows: Row[], key: string): Map<number, Row[]> {
  const map = new Map<number, Row[]>();
  for (const row of rows) {
    const k = Number(row[key]);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

/**
 * PostgreSQL enforces foreign keys, but a restore with triggers disabled (`session_replication_role
 * = replica`, `pg_restore --disable-triggers`) does not: each many-to-one column of the package's
 * entities is checked against the table it references.
 */
async function danglingReferences(
  em: EntityManager,
  sql: (query: string) => Promise<Row[]>,
): Promise<Omit<InvariantViolation, 'rule'>[]> {
  const found: Omit<InvariantViolation, 'rule'>[] = [];
  const seen = new Set<string>();
  for (const meta of em.getMetadata().getAll().values()) {
    if (!meta.tableName?.startsWith(TABLE_PREFIX) || meta.embeddable || meta.virtual) continue;
    if (seen.has(meta.tableName)) continue;
    seen.add(meta.tableName);
    for (const prop of meta.relations ?? []) {
      if (prop.kind !== ReferenceKind.MANY_TO_ONE) continue;
      const target = prop.targetMeta;
      const column = prop.fieldNames?.[0];
      const targetColumn = prop.referencedColumnNames?.[0] ?? target?.primaryKeys?.[0];
      if (!target?.tableName || !column || !targetColumn) continue;
      const rows = await sql(
        `select c.id, c.${column} as ref from ${meta.tableName} c
          where c.${column} is not null
            and not exists (select 1 from ${target.tableName} t where t.${targetColumn} = c.${column})
          order by c.id`,
      );
      for (const r of rows) {
        found.push({
          table: meta.tableName,
          id: num(r.id),
          message: `${meta.tableName} ${r.id}: ${column} = ${String(r.ref)}, no such row in ${target.tableName}`,
        });
      }
    }
  }
  return found;
}

/** The `notices` rule: each notice's subject, moment and status fields. */
async function noticeFindings(
  sql: (query: string) => Promise<Row[]>,
  postgres: boolean,
): Promise<Omit<InvariantViolation, 'rule'>[]> {
  const moment = postgres
    ? `n.anchor_at + n.offset_minutes * interval '1 minute' = n.fire_at`
    : 'n.anchor_at + n.offset_minutes * 60000 = n.fire_at';
  const rows = await sql(
    `select n.id, n.status, n.borrower_id, n.subject_type, n.subject_id, n.claim_token, n.lease_until, n.sent_at,
            n.closed_at, case when ${moment} then 1 else 0 end as moment_ok,
            case n.subject_type when 'loan' then (select borrower_id from swl_loan where id = n.subject_id)
                                when 'reservation' then (select borrower_id from swl_reservation where id = n.subject_id)
                                else (select borrower_id from swl_hold where id = n.subject_id) end as owner
       from swl_notice n order by n.id`,
  );
  const found: Omit<InvariantViolation, 'rule'>[] = [];
  for (const r of rows) {
    const problems: string[] = [];
    if (r.owner === null || r.owner === undefined)
      problems.push(`its ${r.subject_type} ${r.subject_id} does not exist`);
    else if (Number(r.owner) !== Number(r.borrower_id))
      problems.push(`its ${r.subject_type} ${r.subject_id} is borrower ${r.owner}'s, not ${r.borrower_id}'s`);
    if (Number(r.moment_ok) !== 1) problems.push('fire_at is not anchor_at + offset');
    if (r.status === 'enviando' && (r.claim_token === null || r.lease_until === null))
      problems.push('enviando without a digest and lease');
    if (r.status === 'enviado' && r.sent_at === null) problems.push('enviado without sent_at');
    if ((r.status === 'fallido' || r.status === 'descartado') && r.closed_at === null)
      problems.push(`${r.status} without closed_at`);
    if (problems.length > 0)
      found.push({ table: 'swl_notice', id: num(r.id), message: `notice ${r.id}: ${problems.join('; ')}` });
  }
  return found;
}
