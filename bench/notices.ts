/**
 * Section 6 — notices (issue 17): `NoticeService.claim` of every due notice on two datasets that
 * differ only in the length of the loan history: 10 k and 1 M loans (× `SWL_BENCH_SCALE`), each
 * with the same present — 3 000 approved loans with a notice due at the claim instant over 1 500
 * borrowers, 1 000 approved loans not yet due, 100 unsettled penalties — and the default schedule
 * (`DEFAULT_NOTICE_RULES`) in `swl_notice_rule`.
 *
 * What is measured: a worker's claim of everything due — `claim(staff, { limit: 1000 })` called
 * until it returns no digest (1 500 borrowers: two claims that hand out digests and a third that
 * finds none) — inside one outer transaction that is then rolled back, so every iteration starts
 * from the same state (no notice rows). The claims run as the service runs them (each its own
 * nested transaction, a savepoint here), with a fixed clock at {@link NOW}.
 *
 * The floor, in the same run on the same database: one raw indexed select of the loans the claim's
 * loan branch reads — approved, due at or before now + 1 day (the smallest `loan_due` offset is
 * −1 day) — on the raw connection of the other floors (`lib/db.ts`). It is a yardstick for the
 * machine, not the same work: the claim also inserts ~3 100 notices, claims them and reads each
 * borrower's standing for the digests.
 *
 * Reported: claim ÷ floor on each dataset, and growth = mean latency at 1 M ÷ at 10 k (paired
 * rounds, at most 4, each with 1 warm-up and at least 5 timed claims per task; on PostgreSQL
 * `swl_notice` is vacuumed, untimed, before each claim) for the claim and for the floor. The claim's statements are captured through MikroORM's
 * logger (the Kysely statements of `src/notices/schedule.ts` log through it when `query` logging
 * is on) and explained on the big dataset — `EXPLAIN (ANALYZE)` on PostgreSQL, replayed in a
 * transaction that is rolled back, and `EXPLAIN QUERY PLAN` on SQLite — with a check that the loan
 * candidates come from `swl_loan_status_due_date_index` and `swl_loan_unsettled_penalty_index`,
 * with no full scan of `swl_loan` nor a range over every loan of one status (checked on the big
 * dataset; a failure makes `npm run bench` exit 1).
 */

import type { MikroORM } from '@mikro-orm/core';
import { DefaultLogger, type LogContext, type LoggerNamespace, type LoggerOptions } from '@mikro-orm/core';
import type { SwlDialect } from '../migrations/index.ts';
import type { Clock } from '../src/clock.ts';
import { NoticeRule } from '../src/entities/notice-rule.entity.ts';
import { DEFAULT_NOTICE_RULES } from '../src/notices/defaults.ts';
import { NoticeService } from '../src/notices/notice.service.ts';
import type { Actor } from '../src/permissions.ts';
import type { BenchConfig } from './lib/config.ts';
import {
  COPIES_PER_ENTRY,
  FIRST_BORROWER_ID,
  insertLoanHistory,
  LOAN_COLUMNS,
  loadBase,
  NOW,
  STAFF_ID,
  seedPolicies,
  ts,
  withSeries,
} from './lib/dataset.ts';
import { closeOrm, createScratchDb, openBenchOrm, openRaw, type RawDb, type RawSql } from './lib/db.ts';
import { type Measured, measurePaired } from './lib/measure.ts';
import { oneLine, pm, range, short, sqlitePlanLines } from './lib/report.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Growth target of issue 17: claim at 1 M ÷ at 10 k loans. */
export const NOTICE_GROWTH_TARGET = 1.5;
/** The claim's digest limit (the largest `ClaimNoticesInput` allows). */
const CLAIM_LIMIT = 1000;

/** Sizes of the dataset's present, the same at both history lengths (× scale). */
export interface NoticePresent {
  /** Approved loans with a notice due at {@link NOW}: due from 10 days ago to 1 day ahead. */
  due: number;
  /** The borrowers of those loans (2 loans each). */
  dueBorrowers: number;
  /** Approved loans due 2–14 days ahead (no notice yet, outside the index range). */
  notYetDue: number;
  /** Returned loans with an unsettled penalty, returned in the last 10 days. */
  penalties: number;
  borrowers: number;
  entries: number;
}

export function noticePresent(config: BenchConfig): NoticePresent {
  const due = Math.max(30, Math.round(3000 * Math.min(1, config.scale)));
  return {
    due,
    dueBorrowers: Math.max(1, Math.round(due / 2)),
    notYetDue: Math.max(10, Math.round(due / 3)),
    penalties: Math.max(1, Math.round(due / 30)),
    borrowers: config.borrowers,
    entries: Math.max(200, Math.round(2000 * Math.min(1, config.scale))),
  };
}

export interface NoticeDatasetInfo {
  dialect: SwlDialect;
  label: 'small' | 'big';
  loans: number;
  history: number;
  present: NoticePresent;
  loadSeconds: number;
}

/** What one claim of everything due handed out (the same on both datasets). */
export interface ClaimOutcome {
  calls: number;
  digests: number;
  notices: number;
}

export interface NoticeRatioRow {
  dialect: SwlDialect;
  dataset: 'small' | 'big';
  loans: number;
  claim: Measured;
  floor: Measured;
  /** claim ÷ floor mean latency (median of rounds) and range. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

export interface NoticeGrowthRow {
  dialect: SwlDialect;
  impl: 'claim' | 'floor';
  small: Measured;
  big: Measured;
  growth: number;
  growthMin: number;
  growthMax: number;
}

export interface NoticePlan {
  dialect: SwlDialect;
  dataset: 'small' | 'big';
  step: string;
  sql: string;
  plan: string[];
  /** For the candidate statements: uses `swl_loan_status_due_date_index`, no full scan of `swl_loan`. */
  check: {
    usesDueIndex: boolean;
    usesPenaltyIndex: boolean;
    /** A full scan of `swl_loan`, or a range over every loan of one status. */
    fullScanOfLoan: boolean;
    ok: boolean;
  } | null;
}

export interface NoticesResult {
  dialect: SwlDialect;
  datasets: NoticeDatasetInfo[];
  outcome: { small: ClaimOutcome; big: ClaimOutcome };
  ratios: NoticeRatioRow[];
  growth: NoticeGrowthRow[];
  plans: NoticePlan[];
  /** Every candidate statement's plan on the big dataset passed its check (the small one's is informative). */
  plansOk: boolean;
}

// ---------------------------------------------------------------------------------------------
// Dataset

/**
 * Users, catalog and copies ({@link loadBase}: every 10th borrower a teacher, all entries
 * general), the default lending policies and notice schedule, then the loans: a history of
 * returned (90 %, late ones fined and paid) and rejected (10 %) loans ending 12 days before
 * {@link NOW}, the unsettled penalties, the approved loans due and not yet due (distinct copies,
 * lent), with explicit ids; then `ANALYZE`.
 */
async function loadNoticeDataset(
  raw: RawDb,
  orm: MikroORM,
  loans: number,
  p: NoticePresent,
): Promise<{ history: number; loadSeconds: number }> {
  const started = performance.now();
  await seedPolicies(orm);
  const em = orm.em.fork();
  for (const r of DEFAULT_NOTICE_RULES) em.create(NoticeRule, { ...r });
  await em.flush();
  await loadBase(raw, {
    borrowers: p.borrowers,
    teacherEvery: 10,
    entries: p.entries,
    copiesPerEntry: COPIES_PER_ENTRY,
    premiumEvery: 0,
  });
  const copies = p.entries * COPIES_PER_ENTRY;
  const approved = p.due + p.notYetDue;
  if (approved > copies) throw new Error('notices dataset: more approved loans than copies');
  const present = approved + p.penalties;
  const history = Math.max(0, loans - present);
  const U = p.borrowers;
  const B0 = FIRST_BORROWER_ID;
  const now = NOW.getTime();
  const historyEnd = now - 12 * DAY;
  // 250 loans a day, as the read datasets of a 100 k-copy desk.
  const stepMs = Math.round(DAY / 250);
  const stride = Math.max(1, Math.floor(copies / approved));
  await raw.transaction(async (tx) => {
    await insertLoanHistory(tx, { history, historyEnd, stepMs, copies, borrowers: U });
    // Unsettled penalties: returned 1..10 days ago, 1..3 days late, fined, not paid.
    {
      const ret = `(${now} - (k % 10 + 1) * ${DAY})`;
      const due = `(${ret} - (k % 3 + 1) * ${DAY})`;
      const appr = `(${due} - ${7 * DAY})`;
      const copy = `(1 + (k * 7) % ${copies})`;
      await tx.query(
        `insert into swl_loan (${LOAN_COLUMNS})
         ${withSeries(tx)}
         select ${history} + k, ${B0} + (k * 31) % ${U}, (${copy} - 1) / ${COPIES_PER_ENTRY} + 1, ${copy}, null,
           'devuelto', ${ts(tx, `${appr} - ${HOUR}`)}, null, ${ts(tx, appr)}, ${ts(tx, due)}, ${ts(tx, ret)}, null, null,
           ${B0} + (k * 31) % ${U}, ${STAFF_ID}, null, null, ${STAFF_ID}, 'ok', 0,
           (k % 3 + 1) * 100000, 0, (k % 3 + 1) * 100000, null, null, null, 3,
           ${ts(tx, `${appr} - ${HOUR}`)}, ${ts(tx, ret)}
         from s`,
        [p.penalties],
      );
    }
    // Approved loans j = 1..approved on distinct copies j·stride. The first `due` are due from
    // now + 1 day back to now − 10 days (each has a notice due now), two per borrower over the
    // first `dueBorrowers` borrowers; the others are due 2..14 days ahead.
    {
      const span = 11 * DAY;
      const due = `(case when k <= ${p.due} then ${now + DAY} - ((k - 1) * ${Math.floor(span / p.due)})
                    else ${now} + (2 + k % 13) * ${DAY} end)`;
      const appr = `(${due} - ${7 * DAY})`;
      const borrower = `(case when k <= ${p.due} then ${B0} + (k - 1) % ${p.dueBorrowers}
                         else ${B0 + p.dueBorrowers} + (k * 13) % ${Math.max(1, U - p.dueBorrowers)} end)`;
      await tx.query(
        `insert into swl_loan (${LOAN_COLUMNS})
         ${withSeries(tx)}
         select ${history + p.penalties} + k, ${borrower}, (k * ${stride} - 1) / ${COPIES_PER_ENTRY} + 1, k * ${stride}, null,
           'aprobado', ${ts(tx, `${appr} - ${HOUR}`)}, null, ${ts(tx, appr)}, ${ts(tx, due)}, null, null, null,
           ${borrower}, ${STAFF_ID}, null, null, null, null, 0, 0, 0, 0, null, null, null, 2,
           ${ts(tx, `${appr} - ${HOUR}`)}, ${ts(tx, appr)}
         from s`,
        [approved],
      );
    }
    await tx.query(
      `update swl_item_instance set status = 'prestado', version = 2
       where id in (select instance_id from swl_loan where status = 'aprobado')`,
    );
  });
  if (raw.dialect === 'postgresql') {
    await raw.query(
      `select setval(pg_get_serial_sequence('swl_loan', 'id'), coalesce((select max(id) from swl_loan), 0) + 1, false)`,
    );
  }
  await raw.query('analyze');
  return { history, loadSeconds: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// The claim, the floor and the statements' capture

/** Records the statements MikroORM logs (its own and the package's Kysely ones) while `capturing`. */
class CaptureLogger extends DefaultLogger {
  capturing = false;
  captured: { sql: string; params: unknown[] }[] = [];

  override isEnabled(namespace: LoggerNamespace, context?: LogContext): boolean {
    return (this.capturing && namespace === 'query') || super.isEnabled(namespace, context);
  }

  override logQuery(context: { query: string } & LogContext): void {
    if (this.capturing) this.captured.push({ sql: context.query, params: [...(context.params ?? [])] });
    else super.logQuery(context);
  }
}

const fixedClock: Clock = { now: () => new Date(NOW.getTime()) };
const staff: Actor = { id: STAFF_ID, role: 'staff' };

class Rollback {
  readonly outcome: ClaimOutcome;
  constructor(outcome: ClaimOutcome) {
    this.outcome = outcome;
  }
}

/** Claims everything due (limit 1000, until empty) in a transaction that is rolled back. */
async function claimEverythingDue(orm: MikroORM): Promise<ClaimOutcome> {
  try {
    await orm.em.fork().transactional(async (tx) => {
      const notices = new NoticeService(tx, { clock: fixedClock });
      const outcome: ClaimOutcome = { calls: 0, digests: 0, notices: 0 };
      for (;;) {
        const digests = await notices.claim(staff, { limit: CLAIM_LIMIT });
        outcome.calls += 1;
        if (digests.length === 0) break;
        outcome.digests += digests.length;
        outcome.notices += digests.reduce((n, d) => n + d.notices.length, 0);
      }
      throw new Rollback(outcome);
    });
  } catch (error) {
    if (error instanceof Rollback) return error.outcome;
    throw error;
  }
  throw new Error('unreachable: the claim always rolls back');
}

/** The floor's statement: the loans the claim's loan branch reads (approved, due ≤ now + 1 day). */
const FLOOR_SQL = `select id, borrower_id, due_date from swl_loan where status = 'aprobado' and due_date <= ?`;
const floorBound = () => {
  const bound = new Date(NOW.getTime() + DAY);
  return bound;
};

async function floor(raw: RawSql): Promise<number> {
  return (await raw.query(FLOOR_SQL, [floorBound()])).rows.length;
}

/**
 * On PostgreSQL a rolled-back claim leaves ~3 100 dead notice rows and their index entries; each
 * iteration vacuums them first (untimed), so every claim starts on the same clean table. SQLite's
 * rollback leaves nothing.
 */
async function vacuumNotices(raw: RawSql): Promise<void> {
  if (raw.dialect === 'postgresql') await raw.query('vacuum swl_notice');
}

interface OpenDataset {
  label: 'small' | 'big';
  orm: MikroORM;
  raw: RawDb;
  logger: CaptureLogger;
  info: NoticeDatasetInfo;
}

/** Which step of the claim a captured statement is (see `src/notices/schedule.ts`). */
function stepOf(sql: string): string | null {
  const flat = sql.replace(/\s+/g, ' ').trim().toLowerCase();
  if (flat.startsWith('with c0 as') && flat.includes('update swl_notice set status')) return '(2) drop';
  if (flat.startsWith('with c0 as') && flat.includes('insert into swl_notice'))
    return '(3) insert candidates';
  if (flat.startsWith('update swl_notice set status') && flat.includes('attempts = attempts + 1'))
    return '(4) claim';
  if (/^select .* from [`"]?swl_loan[`"]? /.test(flat))
    return flat.includes('final_penalty') ? 'digest read: unsettled penalties' : 'digest read: loans out';
  return null;
}

const CANDIDATE_STEPS = new Set(['(2) drop', '(3) insert candidates']);

function checkPlan(dialect: SwlDialect, plan: string[]): NonNullable<NoticePlan['check']> {
  const text = plan.join('\n');
  const usesDueIndex = text.includes('swl_loan_status_due_date_index');
  const usesPenaltyIndex = text.includes('swl_loan_unsettled_penalty_index');
  // A full scan of swl_loan, or a range over every loan of one status (the whole history).
  const fullScanOfLoan =
    dialect === 'postgresql'
      ? /Seq Scan on swl_loan\b/.test(text) ||
        plan.some(
          (line, i) =>
            line.includes('swl_loan_status_due_date_index') &&
            plan.slice(i + 1, i + 4).some((next) => /Index Cond: \(status = '\w+'::text\)\s*$/.test(next)),
        )
      : plan.some(
          (line) =>
            /^\s*SCAN (l|swl_loan)\b/.test(line) ||
            /^\s*SEARCH (l|swl_loan) USING (COVERING )?INDEX \w+ \(status=\?\)$/.test(line),
        );
  return {
    usesDueIndex,
    usesPenaltyIndex,
    fullScanOfLoan,
    ok: usesDueIndex && usesPenaltyIndex && !fullScanOfLoan,
  };
}

/**
 * Captures the statements of the first claim call and explains those of steps (2)–(4) and the
 * digest's reads of `swl_loan`. On PostgreSQL `EXPLAIN (ANALYZE)` runs them (in order, so step 3
 * inserts what step 4 claims) in one raw transaction that is rolled back.
 */
async function explainClaim(ds: OpenDataset): Promise<NoticePlan[]> {
  ds.logger.captured = [];
  ds.logger.capturing = true;
  try {
    await claimEverythingDue(ds.orm);
  } finally {
    ds.logger.capturing = false;
  }
  const statements: { step: string; sql: string; params: unknown[] }[] = [];
  for (const q of ds.logger.captured) {
    const step = stepOf(q.sql);
    if (!step) continue;
    if (statements.some((s) => s.step === step)) continue; // the first claim call's
    statements.push({ step, ...q });
  }
  const dialect = ds.raw.dialect;
  const explainOne = async (tx: RawSql, s: (typeof statements)[number]): Promise<NoticePlan> => {
    const prefix =
      dialect === 'postgresql'
        ? 'explain (analyze, costs off, timing off, summary off) '
        : 'explain query plan ';
    const result = await tx.query<Record<string, unknown>>(prefix + s.sql, s.params);
    const plan =
      dialect === 'postgresql'
        ? result.rows.map((r) => String(r['QUERY PLAN']))
        : sqlitePlanLines(result.rows);
    return {
      dialect,
      dataset: ds.label,
      step: s.step,
      sql: s.sql,
      plan,
      check: CANDIDATE_STEPS.has(s.step) ? checkPlan(dialect, plan) : null,
    };
  };
  const plans: NoticePlan[] = [];
  if (dialect === 'postgresql') {
    const done = Symbol('rollback');
    try {
      await ds.raw.transaction(async (tx) => {
        for (const s of statements) plans.push(await explainOne(tx, s));
        throw done;
      });
    } catch (error) {
      if (error !== done) throw error;
    }
  } else {
    for (const s of statements) plans.push(await explainOne(ds.raw, s));
  }
  return plans;
}

async function openDataset(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  label: 'small' | 'big',
  loans: number,
  log: (line: string) => void,
): Promise<OpenDataset> {
  const db = await createScratchDb(dialect, `notices_${label}`, postgresUrl);
  let logger: CaptureLogger | undefined;
  const orm = await openBenchOrm(db, {
    loggerFactory: (options: LoggerOptions) => {
      logger = new CaptureLogger(options);
      return logger;
    },
  });
  if (!logger) throw new Error('the ORM did not use the bench logger');
  const raw = openRaw(db, 1);
  const present = noticePresent(config);
  const loaded = await loadNoticeDataset(raw, orm, loans, present);
  const info: NoticeDatasetInfo = { dialect, label, loans, present, ...loaded };
  log(
    `  ${label}: ${loans.toLocaleString('en-US')} loans (${info.history.toLocaleString('en-US')} history, ${present.due.toLocaleString('en-US')} due over ${present.dueBorrowers.toLocaleString('en-US')} borrowers, ${present.notYetDue.toLocaleString('en-US')} not yet due, ${present.penalties} unsettled penalties), ${present.entries * COPIES_PER_ENTRY} copies, ${present.borrowers.toLocaleString('en-US')} borrowers; loaded + ANALYZE in ${info.loadSeconds.toFixed(1)} s`,
  );
  return { label, orm, raw, logger, info };
}

export async function runNotices(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  log: (line: string) => void,
): Promise<NoticesResult> {
  const small = await openDataset(config, dialect, postgresUrl, 'small', config.smallLoans, log);
  const big = await openDataset(config, dialect, postgresUrl, 'big', config.bigLoans, log);
  const outcome = { small: await claimEverythingDue(small.orm), big: await claimEverythingDue(big.orm) };
  const floorRows = { small: await floor(small.raw), big: await floor(big.raw) };
  log(
    `  one claim of everything due: small ${JSON.stringify(outcome.small)}, big ${JSON.stringify(outcome.big)}; floor rows ${floorRows.small} / ${floorRows.big}`,
  );
  if (JSON.stringify(outcome.small) !== JSON.stringify(outcome.big))
    throw new Error('notices: the two datasets do not claim the same notices');
  // Each iteration is a whole claim (1–3 s on SQLite): at most 4 rounds, 1 warm-up run and at
  // least 5 timed runs (the minimum of `measurePaired`) per task and round.
  const rounds = Math.min(config.rounds, 4);
  const opts = (name: string) => ({
    name,
    timeMs: config.taskTimeMs,
    iterations: rounds,
    rounds,
    warmupIterations: 1,
    warmupTimeMs: 1,
  });
  const result: NoticesResult = {
    dialect,
    datasets: [small.info, big.info],
    outcome,
    ratios: [],
    growth: [],
    plans: [],
    plansOk: true,
  };
  const claimOptions = (ds: OpenDataset) => ({ beforeEach: () => vacuumNotices(ds.raw) });
  for (const ds of [small, big]) {
    const m = await measurePaired(
      { name: 'floor', fn: () => floor(ds.raw) },
      { name: 'claim', fn: () => claimEverythingDue(ds.orm), options: claimOptions(ds) },
      opts(`notices ${ds.label} ${dialect}`),
    );
    const row: NoticeRatioRow = {
      dialect,
      dataset: ds.label,
      loans: ds.info.loans,
      claim: m.candidate,
      floor: m.baseline,
      ratio: m.ratio,
      ratioMin: m.ratioMin,
      ratioMax: m.ratioMax,
    };
    log(
      `  ${ds.label.padEnd(5)} claim ${row.claim.meanMs.toFixed(2)} ms ±${row.claim.rmePct.toFixed(1)}% | floor ${row.floor.meanMs.toFixed(3)} ms ±${row.floor.rmePct.toFixed(1)}% | ratio ${row.ratio.toFixed(1)} (${row.ratioMin.toFixed(1)}–${row.ratioMax.toFixed(1)})`,
    );
    result.ratios.push(row);
  }
  const impls = {
    claim: (ds: OpenDataset) => () => claimEverythingDue(ds.orm),
    floor: (ds: OpenDataset) => () => floor(ds.raw),
  };

  for (const impl of ['claim', 'floor'] as const) {
    const m = await measurePaired(
      { name: `${impl} small`, fn: impls[impl](small), options: impl === 'claim' ? claimOptions(small) : {} },
      { name: `${impl} big`, fn: impls[impl](big), options: impl === 'claim' ? claimOptions(big) : {} },
      opts(`notices growth ${impl} ${dialect}`),
    );
    const row: NoticeGrowthRow = {
      dialect,
      impl,
      small: m.baseline,
      big: m.candidate,
      growth: m.ratio,
      growthMin: m.ratioMin,
      growthMax: m.ratioMax,
    };
    log(
      `  growth ${impl.padEnd(5)} small ${row.small.meanMs.toFixed(2)} ms | big ${row.big.meanMs.toFixed(2)} ms | growth ${row.growth.toFixed(2)} (${row.growthMin.toFixed(2)}–${row.growthMax.toFixed(2)})`,
    );
    result.growth.push(row);
  }
  for (const ds of [small, big]) {
    const plans = await explainClaim(ds);
    for (const p of plans) {
      if (ds.label === 'big' && p.check && !p.check.ok) result.plansOk = false;
      if (ds.label === 'big' || p.check) {
        log(
          `  plan ${ds.label} ${p.step}${p.check ? ` — due index ${p.check.usesDueIndex ? 'yes' : 'NO'}, penalty index ${p.check.usesPenaltyIndex ? 'yes' : 'no'}, full scan of swl_loan ${p.check.fullScanOfLoan ? 'YES' : 'no'}` : ''}`,
        );
      }
    }
    if (ds.label === 'big' && !plans.some((p) => p.check)) result.plansOk = false; // not captured
    result.plans.push(...plans);
  }
  for (const ds of [small, big]) {
    await closeOrm(ds.orm);
    await ds.raw.close();
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

/** Markdown for the section, appended to the report of `npm run bench`. */
export function renderNotices(results: readonly NoticesResult[]): string {
  if (results.length === 0) return '';
  const out: string[] = ['## 6. Notices: claim of everything due at 10 k and 1 M loans', ''];
  for (const r of results) {
    for (const d of r.datasets) {
      const p = d.present;
      out.push(
        `- ${r.dialect} ${d.label}: ${short(d.loans)} loans (${d.history.toLocaleString('en-US')} history; ${p.due} due over ${p.dueBorrowers} borrowers, ${p.notYetDue} not yet due, ${p.penalties} unsettled penalties); load + ANALYZE ${d.loadSeconds.toFixed(1)} s`,
      );
    }
    out.push(
      `- ${r.dialect}: one claim of everything due = ${r.outcome.big.calls} calls of limit ${CLAIM_LIMIT}, ${r.outcome.big.digests} digests, ${r.outcome.big.notices} notices (both datasets)`,
    );
  }
  out.push('');
  out.push('| database | loans | claim mean ms | floor mean ms | claim ÷ floor (median of rounds; range) |');
  out.push('|---|---|---|---|---|');
  for (const r of results) {
    for (const row of r.ratios) {
      out.push(
        `| ${row.dialect} | ${short(row.loans)} | ${row.claim.meanMs.toFixed(1)} ${pm(row.claim.rmePct)} | ${row.floor.meanMs.toFixed(2)} ${pm(row.floor.rmePct)} | **${row.ratio.toFixed(1)}** (${range(row.ratioMin, row.ratioMax, 1)}) |`,
      );
    }
  }
  out.push('');
  out.push('| database | side | 10 k: mean ms | 1 M: mean ms | growth (range) | target | |');
  out.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const g of r.growth) {
      const target = g.impl === 'claim' ? `≤ ${NOTICE_GROWTH_TARGET}` : '—';
      const verdict = g.impl === 'claim' ? (g.growth <= NOTICE_GROWTH_TARGET ? 'met' : '**missed**') : '';
      out.push(
        `| ${g.dialect} | ${g.impl} | ${g.small.meanMs.toFixed(2)} ${pm(g.small.rmePct)} | ${g.big.meanMs.toFixed(2)} ${pm(g.big.rmePct)} | **${g.growth.toFixed(2)}** (${range(g.growthMin, g.growthMax)}) | ${target} | ${verdict} |`,
      );
    }
  }
  out.push('');
  out.push('### Query plans of the claim (big dataset)', '');
  for (const r of results) {
    for (const p of r.plans.filter((x) => x.dataset === 'big')) {
      const check = p.check
        ? ` — ${p.check.ok ? 'ok' : '**FAIL**'}: due index ${p.check.usesDueIndex ? 'yes' : 'no'}, penalty index ${p.check.usesPenaltyIndex ? 'yes' : 'no'}, full scan of swl_loan ${p.check.fullScanOfLoan ? 'yes' : 'no'}`
        : '';
      out.push(`#### ${p.dialect}: ${p.step}${check}`, '', '```', oneLine(p.sql), ...p.plan, '```', '');
    }
  }
  return out.join('\n');
}
