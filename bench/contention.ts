/**
 * Section 4 — contention on PostgreSQL: workers, each with its own `em.fork()` per command, take
 * pending requests from one shared queue, approve them and return them at once. Two scenarios:
 *
 * - **spread**: title-level requests over 200 titles × 2 copies: approvals rarely meet;
 * - **hot**: 4 titles × 2 copies (8 copies for 8 workers), every other request naming a copy:
 *   title-level approvals race for a free copy (`FOR UPDATE SKIP LOCKED`), copy-level ones queue
 *   on the copy's row lock and find it lent.
 *
 * An approval that finds no free copy (`COPY_UNAVAILABLE`) or loses a race (`CONFLICT`) puts
 * the request back in the queue. Each scenario runs with 1 worker, then with 8, for the same
 * wall-clock time. Afterwards the audit trail is checked in SQL: per copy, the intervals between a
 * `loaned` and the `returned` of the same loan never overlap (from `swl_instance_event` and,
 * independently, from `swl_loan_event`), and the counts of events, loan statuses and copy statuses
 * agree.
 */
import { cpus } from 'node:os';
import type { MikroORM } from '@mikro-orm/core';
import { isSwlError } from '../src/errors.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import type { Actor } from '../src/permissions.ts';
import type { BenchConfig } from './lib/config.ts';
import { FIRST_BORROWER_ID, loadBase, STAFF_ID, seedPolicies } from './lib/dataset.ts';
import { closeOrm, createScratchDb, openBenchOrm, openRaw, type RawDb } from './lib/db.ts';

export interface ContentionRun {
  scenario?: 'spread' | 'hot';
  workers: number;
  seconds: number;
  approvals: number;
  returns: number;
  /** Approvals that found no free copy, or lost a race, and were re-queued. */
  unavailable: number;
  conflicts: number;
  /** Successful commands (approve + return) per second. */
  commandsPerSec: number;
  /** CPU time of this Node process ÷ wall-clock time (1.0 = one core busy all the time). */
  nodeCpu: number;
  /** Busy CPU time of the whole machine ÷ wall-clock time (PostgreSQL, this process, and anything else running). */
  machineCpu: number;
}

/** Busy (non-idle) CPU milliseconds of the whole machine so far. */
function machineBusyMs(): number {
  return cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
}

export interface AuditCheck {
  check: string;
  expected: string;
  actual: string;
  ok: boolean;
}

export interface ContentionResult {
  spreadTitles: number;
  hotTitles: number;
  copiesPerTitle: number;
  requestsPerScenario: number;
  runs: ContentionRun[];
  /** commands/s with 8 workers ÷ with 1, per scenario. */
  speedup: { spread: number; hot: number };
  audit: AuditCheck[];
}

const SPREAD_TITLES = 200;
const HOT_TITLES = 4;
const COPIES_PER_TITLE = 2;

async function runWorkers(
  orm: MikroORM,
  queue: number[],
  workers: number,
  seconds: number,
): Promise<ContentionRun> {
  const staffActors: Actor[] = [{ id: STAFF_ID, role: 'staff' }];
  const run: ContentionRun = {
    workers,
    seconds: 0,
    approvals: 0,
    returns: 0,
    unavailable: 0,
    conflicts: 0,
    commandsPerSec: 0,
    nodeCpu: 0,
    machineCpu: 0,
  };
  const cpuBefore = process.cpuUsage();
  const busyBefore = machineBusyMs();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (w: number) => {
    const staff = staffActors[w % staffActors.length] as Actor;
    while (performance.now() < deadline) {
      const loanId = queue.shift();
      if (loanId === undefined)
        throw new Error('contention: the request queue ran dry; raise the request count');
      try {
        await new LoanService(orm.em.fork()).approve(staff, { loanId });
        run.approvals++;
      } catch (error) {
        if (isSwlError(error) && (error.code === 'COPY_UNAVAILABLE' || error.code === 'CONFLICT')) {
          if (error.code === 'CONFLICT') run.conflicts++;
          else run.unavailable++;
          queue.push(loanId);
          continue;
        }
        throw error;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          await new LoanService(orm.em.fork()).return(staff, { loanId, outcome: 'ok' });
          run.returns++;
          break;
        } catch (error) {
          if (isSwlError(error) && error.code === 'CONFLICT' && attempt < 5) {
            run.conflicts++;
            continue;
          }
          throw error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  run.seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  run.nodeCpu = (cpu.user + cpu.system) / 1e6 / run.seconds;
  run.machineCpu = (machineBusyMs() - busyBefore) / 1000 / run.seconds;
  run.commandsPerSec = (run.approvals + run.returns) / run.seconds;
  return run;
}

/** Fisher–Yates with a small seeded generator (mulberry32): the same order on every run. */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

async function scalar(raw: RawDb, sql: string): Promise<number> {
  const row = (await raw.query<Record<string, unknown>>(sql)).rows[0] ?? {};
  return Number(Object.values(row)[0] ?? 0);
}

/** Overlapping approved intervals per copy, from the copy history and from the loan history. */
const OVERLAPS_FROM_COPY_EVENTS = `
  with spans as (
    select o.instance_id, o.id as start_id, coalesce(r.id, 9223372036854775807) as end_id
    from swl_instance_event o
    left join swl_instance_event r
      on r.loan_id = o.loan_id and r.instance_id = o.instance_id and r.type = 'returned'
    where o.type = 'loaned'
  ), ordered as (
    select start_id, end_id, lead(start_id) over (partition by instance_id order by start_id) as next_start
    from spans
  )
  select count(*) from ordered where next_start is not null and next_start < end_id`;

const OVERLAPS_FROM_LOAN_EVENTS = `
  with spans as (
    select (a.data ->> 'copyId')::int as instance_id, a.id as start_id, coalesce(r.id, 9223372036854775807) as end_id
    from swl_loan_event a
    left join swl_loan_event r on r.loan_id = a.loan_id and r.type = 'returned'
    where a.type = 'approved'
  ), ordered as (
    select start_id, end_id, lead(start_id) over (partition by instance_id order by start_id) as next_start
    from spans
  )
  select count(*) from ordered where next_start is not null and next_start < end_id`;

async function audit(raw: RawDb, requests: number, runs: ContentionRun[]): Promise<AuditCheck[]> {
  const approvals = runs.reduce((n, r) => n + r.approvals, 0);
  const returns = runs.reduce((n, r) => n + r.returns, 0);
  const checks: AuditCheck[] = [];
  const expect = (check: string, expected: number, actual: number) =>
    checks.push({ check, expected: String(expected), actual: String(actual), ok: expected === actual });
  expect(
    'overlapping approved intervals per copy (swl_instance_event)',
    0,
    await scalar(raw, OVERLAPS_FROM_COPY_EVENTS),
  );
  expect(
    'overlapping approved intervals per copy (swl_loan_event)',
    0,
    await scalar(raw, OVERLAPS_FROM_LOAN_EVENTS),
  );
  expect(
    'copies with more than one aprobado loan now',
    0,
    await scalar(
      raw,
      `select count(*) from (select instance_id from swl_loan where status = 'aprobado' group by instance_id having count(*) > 1) x`,
    ),
  );
  expect(
    'loans approved more than once',
    0,
    await scalar(
      raw,
      `select count(*) from (select loan_id from swl_loan_event where type = 'approved' group by loan_id having count(*) > 1) x`,
    ),
  );
  expect(
    "'approved' loan events = approvals counted by the workers",
    approvals,
    await scalar(raw, `select count(*) from swl_loan_event where type = 'approved'`),
  );
  expect(
    "'loaned' copy events = approvals",
    approvals,
    await scalar(raw, `select count(*) from swl_instance_event where type = 'loaned'`),
  );
  expect(
    "'returned' loan events = returns counted by the workers",
    returns,
    await scalar(raw, `select count(*) from swl_loan_event where type = 'returned'`),
  );
  expect(
    "'returned' copy events = returns",
    returns,
    await scalar(raw, `select count(*) from swl_instance_event where type = 'returned'`),
  );
  expect(
    'loans devuelto = returns',
    returns,
    await scalar(raw, `select count(*) from swl_loan where status = 'devuelto'`),
  );
  expect(
    'loans aprobado = approvals − returns',
    approvals - returns,
    await scalar(raw, `select count(*) from swl_loan where status = 'aprobado'`),
  );
  expect(
    'loans pendiente = requests − approvals',
    requests - approvals,
    await scalar(raw, `select count(*) from swl_loan where status = 'pendiente'`),
  );
  expect(
    'copies prestado = loans aprobado',
    approvals - returns,
    await scalar(raw, `select count(*) from swl_item_instance where status = 'prestado'`),
  );
  expect(
    "copies whose status differs from their last event's",
    0,
    await scalar(
      raw,
      `select count(*) from swl_item_instance i
       where i.status <> coalesce((select e.to_status from swl_instance_event e where e.instance_id = i.id order by e.id desc limit 1), 'disponible')`,
    ),
  );
  expect(
    'returned loans without exactly one approved and one returned event',
    0,
    await scalar(
      raw,
      `select count(*) from swl_loan l where l.status = 'devuelto' and
         (select count(*) from swl_loan_event e where e.loan_id = l.id and e.type in ('approved', 'returned')) <> 2`,
    ),
  );
  expect(
    'copy version = 1 + its status changes',
    0,
    await scalar(
      raw,
      `select count(*) from swl_item_instance i
       where i.version <> 1 + (select count(*) from swl_instance_event e where e.instance_id = i.id and e.type <> 'created')`,
    ),
  );
  return checks;
}

export async function runContention(
  config: BenchConfig,
  postgresUrl: string | undefined,
  log: (line: string) => void,
): Promise<ContentionResult> {
  const db = await createScratchDb('postgresql', 'contention', postgresUrl);
  const orm = await openBenchOrm(db, {
    pool: { min: config.contentionWorkers, max: 2 * config.contentionWorkers },
  });
  await seedPolicies(orm);
  const raw = openRaw(db, 2);
  const borrowers = config.quick ? 200 : 2000;
  await loadBase(raw, {
    borrowers,
    teacherEvery: 1,
    entries: SPREAD_TITLES + HOT_TITLES,
    copiesPerEntry: COPIES_PER_TITLE,
    premiumEvery: 0,
  });
  const perScenario = config.quick ? 3_000 : 20_000;
  const B0 = FIRST_BORROWER_ID;
  await raw.transaction(async (tx) => {
    // spread: title-level requests over 200 titles; hot: 4 titles, every other request names a copy
    await tx.query(
      `insert into swl_loan (borrower_id, catalog_entry_id, instance_id, status, request_date, requested_by_id,
         renewal_count, overdue_fine, replacement_charge, final_penalty, version, created_at, updated_at)
       select ${B0} + g % ?, entry, copy, 'pendiente', now(), ${B0} + g % ?, 0, 0, 0, 0, 1, now(), now()
       from (
         select g, 1 + g % ${SPREAD_TITLES} as entry, null::int as copy from generate_series(1, ?) g
         union all
         select ? + g, ${SPREAD_TITLES + 1} + g % ${HOT_TITLES},
           case when g % 2 = 0 then (${SPREAD_TITLES} + g % ${HOT_TITLES}) * ${COPIES_PER_TITLE} + 1 + (g / ${HOT_TITLES}) % ${COPIES_PER_TITLE} end
         from generate_series(1, ?) g
       ) r order by g`,
      [borrowers, borrowers, perScenario, perScenario, perScenario],
    );
    await tx.query(
      `insert into swl_loan_event (loan_id, type, from_status, to_status, actor_id, at, data)
       select id, 'requested', null, 'pendiente', borrower_id, request_date,
         jsonb_build_object('copyId', instance_id, 'catalogEntryId', catalog_entry_id, 'requestedDueDate', null)
       from swl_loan order by id`,
    );
  });
  await raw.query('analyze');
  const queueOf = async (hot: boolean) =>
    (
      await raw.query<{ id: number }>(
        `select id from swl_loan where catalog_entry_id ${hot ? '>' : '<='} ? order by id`,
        [SPREAD_TITLES],
      )
    ).rows.map((r) => Number(r.id));
  // a fixed shuffle, so that concurrent workers pick requests for the same titles and copies by chance
  const queues = { spread: shuffle(await queueOf(false), 1), hot: shuffle(await queueOf(true), 2) };
  log(
    `  contention fixture: spread = ${SPREAD_TITLES} titles × ${COPIES_PER_TITLE} copies, title-level requests; hot = ${HOT_TITLES} titles × ${COPIES_PER_TITLE} copies, half the requests naming a copy; ${perScenario.toLocaleString('en-US')} pending requests each, from ${borrowers} borrowers; pool max ${2 * config.contentionWorkers}`,
  );
  // warm-up (connections, JIT); its commands are part of the audit below
  const warm = await runWorkers(orm, queues.spread, config.contentionWorkers, config.quick ? 0.5 : 2);
  const runs: ContentionRun[] = [];
  for (const scenario of ['spread', 'hot'] as const) {
    for (const workers of [1, config.contentionWorkers]) {
      const run = {
        ...(await runWorkers(orm, queues[scenario], workers, config.contentionSeconds)),
        scenario,
      };
      log(
        `  ${scenario.padEnd(6)} ${String(workers).padStart(2)} worker(s): ${run.commandsPerSec.toFixed(0)} commands/s (${run.approvals} approvals, ${run.returns} returns in ${run.seconds.toFixed(1)} s; ${run.unavailable} re-queued for no free copy, ${run.conflicts} conflicts; node CPU ${run.nodeCpu.toFixed(2)} cores, machine ${run.machineCpu.toFixed(2)} of ${cpus().length} cores busy)`,
      );
      runs.push(run);
    }
  }
  const checks = await audit(raw, 2 * perScenario, [warm, ...runs]);
  for (const c of checks)
    log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: expected ${c.expected}, got ${c.actual}`);
  await closeOrm(orm);
  await raw.close();
  const speedup = (scenario: 'spread' | 'hot') => {
    const [one, many] = runs.filter((r) => r.scenario === scenario) as [ContentionRun, ContentionRun];
    return many.commandsPerSec / one.commandsPerSec;
  };
  return {
    spreadTitles: SPREAD_TITLES,
    hotTitles: HOT_TITLES,
    copiesPerTitle: COPIES_PER_TITLE,
    requestsPerScenario: perScenario,
    runs,
    speedup: { spread: speedup('spread'), hot: speedup('hot') },
    audit: checks,
  };
}
