/**
 * Fast synthetic data, written with set-based SQL: `generate_series` on PostgreSQL, a recursive
 * CTE on SQLite, each table in one statement inside one transaction. Ids are explicit (1..n in
 * insertion order) so rows can refer to each other arithmetically; PostgreSQL sequences are moved
 * past them afterwards.
 *
 * The read datasets model a desk whose history grows while its present does not: the catalog
 * (copies), the borrowers, the open loans (approved, overdue, pending) and the daily rates of loans
 * and visits are the same at every size; only the length of the history differs. So 1 M loans are
 * ~11 years of history at 250 loans a day, 10 k loans ~40 days (rates scale with the copies, so
 * the time spans are the same at every `SWL_BENCH_SCALE`).
 */
import type { MikroORM } from '@mikro-orm/core';
import { LoanPolicy } from '../../src/entities/loan-policy.entity.ts';
import { DEFAULT_LOAN_POLICIES } from '../../src/policies/defaults.ts';
import type { RawDb, RawSql } from './db.ts';

/** The instant "now" of every dataset (a Monday, 08:00 in Bogotá). */
export const NOW = new Date('2026-03-02T13:00:00.000Z');
const MS_DAY = 86_400_000;
/** Loans (and visits) per day in the synthetic history of a desk with 100 k copies. */
export const DAILY_RATE = 250;

/** Loans (and visits) per day for a desk with `copies` copies: proportional, so that the history spans the same time at every `SWL_BENCH_SCALE`. */
export function dailyRate(copies: number): number {
  return (DAILY_RATE * copies) / 100_000;
}

export const ADMIN_ID = 1;
export const STAFF_ID = 2;
/** Borrower ids are FIRST_BORROWER_ID .. FIRST_BORROWER_ID + borrowers - 1. */
export const FIRST_BORROWER_ID = 3;
export const COPIES_PER_ENTRY = 5;

const SUBJECTS = [
  'algebra',
  'biologia',
  'calculo',
  'derecho',
  'economia',
  'fisica',
  'geometria',
  'historia',
  'informatica',
  'literatura',
  'mecanica',
  'quimica',
  'redes',
  'estadistica',
  'filosofia',
  'arte',
  'musica',
  'contabilidad',
  'anatomia',
  'botanica',
  'geologia',
  'astronomia',
  'electronica',
  'programacion',
  'sociologia',
  'psicologia',
  'pedagogia',
  'ingles',
  'frances',
  'mercadeo',
];
const SURNAMES = [
  'garcia',
  'rodriguez',
  'martinez',
  'lopez',
  'gonzalez',
  'perez',
  'sanchez',
  'ramirez',
  'torres',
  'flores',
  'rivera',
  'gomez',
  'diaz',
  'reyes',
  'morales',
  'ortiz',
  'castro',
  'vargas',
  'rojas',
  'moreno',
];

/** Row source `k = 1..n` as a CTE named `s`, for `insert … with … select`. */
function series(raw: RawSql): string {
  return raw.dialect === 'postgresql'
    ? 's(k) as (select g::bigint from generate_series(1, ?::bigint) g)'
    : 's(k) as (select 1 union all select k + 1 from s where k < ?)';
}
/** `with [recursive] s(k) …`: the series `k = 1..?` (one parameter) for an `insert … select`. */
export function withSeries(raw: RawSql, extra = ''): string {
  return raw.dialect === 'postgresql'
    ? `with ${series(raw)}${extra}`
    : `with recursive ${series(raw)}${extra}`;
}
/** An epoch-milliseconds SQL expression as the column type of the dialect. */
export function ts(raw: RawSql, ms: string): string {
  return raw.dialect === 'postgresql' ? `to_timestamp((${ms})::double precision / 1000)` : `(${ms})`;
}
function bool(raw: RawSql, value: boolean): string {
  return raw.dialect === 'postgresql' ? String(value) : value ? '1' : '0';
}
function valuesList(names: readonly string[]): string {
  return names.map((n, i) => `(${i}, '${n}')`).join(', ');
}

async function resetSequences(raw: RawSql, tables: readonly string[]): Promise<void> {
  if (raw.dialect !== 'postgresql') return;
  for (const table of tables) {
    await raw.query(
      `select setval(pg_get_serial_sequence('${table}', 'id'), coalesce((select max(id) from ${table}), 0) + 1, false)`,
    );
  }
}

/** The package's default lending policies (docs/DESIGN.md §5), through the ORM. */
export async function seedPolicies(orm: MikroORM): Promise<void> {
  const em = orm.em.fork();
  for (const rule of DEFAULT_LOAN_POLICIES) em.create(LoanPolicy, { ...rule });
  await em.flush();
}

export interface BaseSpec {
  borrowers: number;
  /** Every n-th borrower is a teacher, the others students (1 = all teachers). */
  teacherEvery: number;
  entries: number;
  copiesPerEntry: number;
  /** Every n-th entry is premium equipment (0 = none). */
  premiumEvery: number;
}

/**
 * Admin (id 1), staff (id 2), borrowers (ids from 3), catalog entries (ids from 1) and their copies
 * (ids from 1; copy c belongs to entry (c − 1) / copiesPerEntry + 1), all copies `disponible`.
 */
export async function loadBase(raw: RawDb, spec: BaseSpec): Promise<void> {
  const nowMs = String(NOW.getTime());
  await raw.transaction(async (tx) => {
    await tx.query(
      `insert into swl_user (id, document_id, full_name, email, phone, role, program_name, password_hash, active, must_change_password, created_at, updated_at)
       values (?, '1000000000', 'Administrador Principal', 'admin@biblioteca.com', '0000000000', 'admin', null, null, ${bool(tx, true)}, ${bool(tx, false)}, ${ts(tx, nowMs)}, ${ts(tx, nowMs)}),
              (?, '1000000001', 'Staff Desk', null, null, 'staff', null, null, ${bool(tx, true)}, ${bool(tx, false)}, ${ts(tx, nowMs)}, ${ts(tx, nowMs)})`,
      [ADMIN_ID, STAFF_ID],
    );
    await tx.query(
      `insert into swl_user (id, document_id, full_name, email, phone, role, program_name, password_hash, active, must_change_password, created_at, updated_at)
       ${withSeries(tx)}
       select k + ${FIRST_BORROWER_ID - 1}, '2' || k, 'Borrower ' || k, null, null,
              case when k % ${spec.teacherEvery} = 0 then 'teacher' else 'student' end,
              'Programa ' || (k % 40), null, ${bool(tx, true)}, ${bool(tx, false)}, ${ts(tx, nowMs)}, ${ts(tx, nowMs)}
       from s`,
      [spec.borrowers],
    );
    if (spec.entries === 0) return;
    const category =
      spec.premiumEvery > 0
        ? `case when k % ${spec.premiumEvery} = 0 then 'premium' else 'general' end`
        : `'general'`;
    await tx.query(
      `insert into swl_catalog (id, title_or_name, category, author_or_brand, identifier, replacement_cost, search_text, created_at, updated_at)
       ${withSeries(tx, `, subj(i, name) as (values ${valuesList(SUBJECTS)}), sur(i, name) as (values ${valuesList(SURNAMES)})`)}
       select k, 'Texto de ' || subj.name || ' ' || k, ${category}, sur.name || ' ' || (k % 97), 'ISBN-' || k, 5000000,
              'texto de ' || subj.name || ' ' || k || ' ' || sur.name || ' ' || (k % 97) || ' isbn-' || k,
              ${ts(tx, nowMs)}, ${ts(tx, nowMs)}
       from s join subj on subj.i = k % ${SUBJECTS.length} join sur on sur.i = (k / ${SUBJECTS.length}) % ${SURNAMES.length}`,
      [spec.entries],
    );
    const per = spec.copiesPerEntry;
    await tx.query(
      `insert into swl_item_instance (id, catalog_entry_id, sequence, code, status, condition, version, created_at, updated_at)
       ${withSeries(tx)}
       select k, (k - 1) / ${per} + 1, (k - 1) % ${per} + 1, 'TEX-' || ((k - 1) / ${per} + 1) || '-' || ((k - 1) % ${per} + 1),
              'disponible', null, 1, ${ts(tx, nowMs)}, ${ts(tx, nowMs)}
       from s`,
      [spec.entries * per],
    );
  });
  await resetSequences(raw, ['swl_user', 'swl_catalog', 'swl_item_instance']);
}

/** Sizes of the open part of a read dataset (the same at every history length). */
export interface OpenLoans {
  approved: number;
  overdue: number;
  pending: number;
}

export function openLoansFor(copies: number): OpenLoans {
  return {
    approved: Math.max(10, Math.round(copies * 0.02)),
    overdue: Math.max(3, Math.round(copies * 0.003)),
    pending: Math.max(5, Math.round(copies * 0.005)),
  };
}

export interface ReadSpec {
  loans: number;
  borrowers: number;
  copies: number;
}

/** What a read dataset holds, for the queries' parameters. */
export interface ReadDataset {
  spec: ReadSpec;
  open: OpenLoans;
  history: number;
  visits: number;
  /** A borrower with open loans and (at scale) a long history. */
  borrowerId: number;
  loadSeconds: number;
}

/** Every column of `swl_loan`, in the order the set-based loan inserts of the benchmarks give them. */
export const LOAN_COLUMNS = `id, borrower_id, catalog_entry_id, instance_id, environment, status, request_date, requested_due_date,
  approval_date, due_date, return_date, rejection_date, observation, requested_by_id, approved_by_id, rejected_by_id,
  rejection_reason, received_by_id, return_outcome, renewal_count, overdue_fine, replacement_charge, final_penalty,
  penalty_settlement, penalty_settled_at, penalty_settled_by_id, version, created_at, updated_at`;

/** What {@link insertLoanHistory} writes. */
export interface LoanHistorySpec {
  /** Loans, with ids 1..history (oldest first). */
  history: number;
  /** Request instant of the last one, epoch ms. */
  historyEnd: number;
  /** Between two requests, ms. */
  stepMs: number;
  /** Copies 1..copies ({@link COPIES_PER_ENTRY} per entry, entries numbered from 1). */
  copies: number;
  /** Borrowers from {@link FIRST_BORROWER_ID}. */
  borrowers: number;
}

/**
 * A loan history in one set-based insert: k = 1..history, oldest first, on copy
 * 1 + (k·104729 mod copies) and borrower (k·7919 mod borrowers); 1 in 10 rejected; the others
 * approved an hour after the request, due 7 days later and returned 1..9 days after approval —
 * the late ones fined (100 000 minor units a day) and the fine paid an hour after the return.
 */
export async function insertLoanHistory(tx: RawSql, spec: LoanHistorySpec): Promise<void> {
  const { history, historyEnd, stepMs, copies } = spec;
  if (history <= 0) return;
  const U = spec.borrowers;
  const B0 = FIRST_BORROWER_ID;
  const hour = 3_600_000;
  // History: k = 1..history, oldest first. Copy c = 1 + (k·104729 mod copies); 1 in 10 rejected;
  // returned ones come back 1..9 days after approval (due after 7): late ones were fined and paid.
  const req = `(${historyEnd} - (${history} - k) * ${stepMs})`;
  const appr = `(${req} + ${hour})`;
  const ret = `(${appr} + (k % 9 + 1) * ${MS_DAY})`;
  const fine = `(case when k % 9 + 1 > 7 then (k % 9 - 6) * 100000 else 0 end)`;
  const rejected = `k % 10 = 0`;
  const copy = `(1 + (k * 104729) % ${copies})`;
  await tx.query(
    `insert into swl_loan (${LOAN_COLUMNS})
       ${withSeries(tx)}
       select k, ${B0} + (k * 7919) % ${U}, (${copy} - 1) / ${COPIES_PER_ENTRY} + 1,
         case when ${rejected} then null else ${copy} end, null,
         case when ${rejected} then 'rechazado' else 'devuelto' end,
         ${ts(tx, req)}, null,
         case when ${rejected} then null else ${ts(tx, appr)} end,
         case when ${rejected} then null else ${ts(tx, `${appr} + ${7 * MS_DAY}`)} end,
         case when ${rejected} then null else ${ts(tx, ret)} end,
         case when ${rejected} then ${ts(tx, `${req} + ${2 * hour}`)} else null end,
         null, ${B0} + (k * 7919) % ${U},
         case when ${rejected} then null else ${STAFF_ID} end,
         case when ${rejected} then ${STAFF_ID} else null end,
         case when ${rejected} then 'sin ejemplares' else null end,
         case when ${rejected} then null else ${STAFF_ID} end,
         case when ${rejected} then null else 'ok' end,
         0,
         case when ${rejected} then 0 else ${fine} end, 0,
         case when ${rejected} then 0 else ${fine} end,
         case when not (${rejected}) and ${fine} > 0 then 'paid' else null end,
         case when not (${rejected}) and ${fine} > 0 then ${ts(tx, `${ret} + ${hour}`)} else null end,
         case when not (${rejected}) and ${fine} > 0 then ${STAFF_ID} else null end,
         case when ${rejected} then 2 else 3 end,
         ${ts(tx, req)},
         case when ${rejected} then ${ts(tx, `${req} + ${2 * hour}`)} else ${ts(tx, ret)} end
       from s`,
    [history],
  );
}

/**
 * A read dataset: {@link loadBase} plus `loans` loans — a history of returned (90 %) and rejected
 * (10 %) loans at {@link dailyRate} a day ending twelve days before {@link NOW}, then the open
 * loans of {@link openLoansFor} — and as many visits as loans at the same daily rate. Runs
 * `ANALYZE` at the end.
 */
export async function loadReadDataset(raw: RawDb, spec: ReadSpec): Promise<ReadDataset> {
  const started = performance.now();
  const entries = Math.floor(spec.copies / COPIES_PER_ENTRY);
  await loadBase(raw, {
    borrowers: spec.borrowers,
    teacherEvery: 10,
    entries,
    copiesPerEntry: COPIES_PER_ENTRY,
    premiumEvery: 10,
  });
  const copies = entries * COPIES_PER_ENTRY;
  const open = openLoansFor(copies);
  const current = open.approved + open.overdue + open.pending;
  const history = Math.max(0, spec.loans - current);
  const U = spec.borrowers;
  const B0 = FIRST_BORROWER_ID;
  const now = NOW.getTime();
  const hour = 3_600_000;
  const historyEnd = now - 12 * MS_DAY;
  const openApproved = open.approved + open.overdue;
  const stepMs = Math.round(MS_DAY / dailyRate(copies));
  const stride = Math.max(1, Math.floor(copies / openApproved));

  await raw.transaction(async (tx) => {
    await insertLoanHistory(tx, { history, historyEnd, stepMs, copies, borrowers: U });
    // Open approved loans j = 1..openApproved on distinct copies j·stride; the first `overdue` are overdue.
    const due = `(case when k <= ${open.overdue} then ${now} - (k % 30 + 1) * ${MS_DAY} else ${now} + (k % 7 + 1) * ${MS_DAY} end)`;
    const appr = `(${due} - ${7 * MS_DAY})`;
    await tx.query(
      `insert into swl_loan (${LOAN_COLUMNS})
       ${withSeries(tx)}
       select ${history} + k, ${B0} + (k * 13) % ${U}, (k * ${stride} - 1) / ${COPIES_PER_ENTRY} + 1, k * ${stride}, null,
         'aprobado', ${ts(tx, `${appr} - ${hour}`)}, null, ${ts(tx, appr)}, ${ts(tx, due)}, null, null, null,
         ${B0} + (k * 13) % ${U}, ${STAFF_ID}, null, null, null, null, 0, 0, 0, 0, null, null, null, 2,
         ${ts(tx, `${appr} - ${hour}`)}, ${ts(tx, appr)}
       from s`,
      [openApproved],
    );
    await tx.query(
      `update swl_item_instance set status = 'prestado', version = 2
       where id in (select instance_id from swl_loan where status = 'aprobado')`,
    );
    // Pending title-level requests, one every 5 minutes up to now.
    const req = `(${now} - (${open.pending} - k) * 300000)`;
    await tx.query(
      `insert into swl_loan (${LOAN_COLUMNS})
       ${withSeries(tx)}
       select ${history + openApproved} + k, ${B0} + (k * 17) % ${U}, 1 + (k * 37) % ${entries}, null, null,
         'pendiente', ${ts(tx, req)}, null, null, null, null, null, null, ${B0} + (k * 17) % ${U},
         null, null, null, null, null, 0, 0, 0, 0, null, null, null, 1, ${ts(tx, req)}, ${ts(tx, req)}
       from s`,
      [open.pending],
    );
    // Visits: as many as loans, at the same daily rate, ending now.
    const at = `(${now} - (${spec.loans} - k) * ${stepMs})`;
    await tx.query(
      `insert into swl_library_log (id, visitor_name, visitor_id, role, entry_time, activity, user_id, recorded_by_id)
       ${withSeries(tx)}
       select k, 'Visitante ' || (k % 100000), '9' || (k % 100000),
         case k % 5 when 0 then 'teacher' when 1 then 'visitor' when 2 then 'staff' else 'student' end,
         ${ts(tx, at)},
         case k % 4 when 0 then 'estudio' when 1 then 'consulta' when 2 then 'prestamo' else 'computadores' end,
         null, ${STAFF_ID}
       from s`,
      [spec.loans],
    );
  });
  await resetSequences(raw, ['swl_loan', 'swl_library_log']);
  await raw.query('analyze');
  return {
    spec,
    open,
    history,
    visits: spec.loans,
    borrowerId: B0 + ((1 * 13) % U),
    loadSeconds: (performance.now() - started) / 1000,
  };
}
