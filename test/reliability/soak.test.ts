/**
 * The multi-process soak test of issue 10: several OS processes run random desk commands against
 * one SQLite file, and against one PostgreSQL database, at the same time; afterwards there must be
 * 0 invariant violations, 0 wedged processes, 0 errors that are not `SwlError`s, and the outbox
 * reader (`SwlOutbox`), polled by this process throughout, must have delivered every event row
 * exactly once.
 *
 * Per dialect: a migrated scratch database is seeded with the desk fixtures (policies, an admin,
 * two staff members), 10 borrowers (6 students, 4 teachers) and 6 entries (3 general, 3 premium)
 * with 1–3 copies each. {@link WORKERS} worker processes (`soak-worker.ts`, each with its own
 * MikroORM — on SQLite with a 300 ms busy timeout, so busy timeouts at `BEGIN IMMEDIATE` really
 * happen — and 2 concurrent command loops) print `ready`; the barrier file is then written and
 * they run seeded random commands (request, approve, reject, cancel, renew, return ok / damaged /
 * lost, settlePenalty, the copy changes; a quarter with an idempotency key, repeated once) for
 * {@link SECONDS} seconds, on a desk clock running 7200× faster than the wall clock so premium loans
 * fall overdue. Meanwhile this process pages through the outbox 7 events at a time. A worker that
 * has not exited 25 s after its time is up is killed and counts as wedged (each worker also has its
 * own 10 s watchdog on every command and read). Then the outbox is drained (PostgreSQL: first until
 * every writing transaction has ended, as the reader's watermark requires) until two consecutive
 * reads come back empty, and the checks run:
 *
 * - the workers: every one exited 0 with its report, none wedged, no non-SwlError error, no
 *   idempotent repeat that differed from the first result, and enough work done (≥ 50 successful
 *   commands, ≥ 1 approval, ≥ 1 return) that the test cannot pass vacuously;
 * - the invariants (`checkInvariants` of src/operations/invariants.ts, which `swl doctor`
 *   runs): a copy is `prestado` iff exactly one `aprobado` loan holds it (never two); request ≤
 *   approval ≤ return, rejection ≥ request, settlement ≥ return, and the dates each status
 *   needs; each loan's events (and each copy's) in non-decreasing `at` order by id; every
 *   loan's events are exactly `requested`, then one per transition matching its status and
 *   renewal count, chained from → to and ending in its status; each copy's events chained and
 *   ending in its status; penalties non-negative integers with `final = overdue + replacement`;
 *   SQLite: `integrity_check` ok and `foreign_key_check` empty; PostgreSQL: every reference
 *   resolves and no event row has a NULL `tx_id`; every money column non-negative;
 * - the outbox: the delivered (kind, id) set equals the rows of `swl_loan_event` ∪
 *   `swl_instance_event`, with 0 missed, 0 duplicated (counted) and nothing unknown.
 *
 * A one-line summary per dialect (commands per outcome, events, durations, the seed) is printed.
 *
 * Environment:
 * - `SWL_SOAK_SECONDS` — seconds of commands per worker (default 8; both dialects together take
 *   about 40 s on a 2-core machine);
 * - `SWL_SOAK_WORKERS` — worker processes per dialect (default 4);
 * - `SWL_SOAK_SEED` — the PRNG seed (default: random, printed in the summary and in failures);
 *   the interleaving of processes is not reproducible, but the command mix of each worker is.
 *
 * Run: `npm test -- test/reliability/soak.test.ts`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SwlError } from '../../src/errors.ts';
import type { SwlDomainEvent } from '../../src/events.ts';
import { checkInvariants } from '../../src/operations/invariants.ts';
import { SwlOutbox } from '../../src/outbox.ts';
import { deferred, describeEachDialect, type SwlDialect, useDesk } from '../support/fixtures.ts';
import type { SoakReport } from './soak-worker.ts';

const SECONDS = Number(process.env.SWL_SOAK_SECONDS ?? 8);
const WORKERS = Number(process.env.SWL_SOAK_WORKERS ?? 4);
const SEED = process.env.SWL_SOAK_SEED ? Number(process.env.SWL_SOAK_SEED) : Math.floor(Math.random() * 1e9);
/** Command loops per worker process (sharing its ORM). */
const LANES = 2;
/** Desk-clock speed: two hours per wall-clock second. */
const SPEED = 7200;
/** How long a worker may take to print `ready` (startup on a busy 2-core machine). */
const READY_MS = 60_000;
/** How long after its time is up a worker may take to exit before it counts as wedged. */
const EXIT_GRACE_MS = 25_000;

const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, 'soak-worker.ts');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How a worker process ended. */
interface WorkerEnd {
  worker: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when it was killed for not exiting in time (a wedged process). */
  killed: boolean;
  report: SoakReport | null;
  stdout: string;
  stderr: string;
}

interface RunningWorker {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<WorkerEnd>;
  /** Kills the process (SIGKILL) and marks it as killed. */
  kill(): void;
}

function startWorker(worker: number, args: string[]): RunningWorker {
  const child = spawn(process.execPath, [WORKER, '--worker', String(worker), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  const ready = deferred();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.includes('ready\n')) ready.resolve();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<WorkerEnd>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      const last = stdout
        .trim()
        .split('\n')
        .reverse()
        .find((line) => line.startsWith('{'));
      let report: SoakReport | null = null;
      try {
        report = last ? (JSON.parse(last) as SoakReport) : null;
      } catch {
        report = null;
      }
      resolve({ worker, code, signal, killed, report, stdout, stderr });
    };
    child.on('error', (error) => {
      stderr += String(error);
      finish(null, null);
    });
    child.on('exit', finish);
  });
  // A worker that dies before `ready` must not leave the test waiting on the barrier.
  void done.then(() => ready.resolve());
  return {
    child,
    ready: ready.promise,
    done,
    kill() {
      killed = true;
      child.kill('SIGKILL');
    },
  };
}

/** Resolves with `promise`, or with `fallback()` after `ms`. */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: () => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

type Row = Record<string, unknown>;

/** Every event row of both tables, as `kind:id` keys. */
async function eventRowKeys(orm: MikroORM): Promise<string[]> {
  const rows = (await orm.em
    .fork()
    .getConnection()
    .execute(
      "select 'loan' as kind, id from swl_loan_event union all select 'copy' as kind, id from swl_instance_event",
    )) as Row[];
  return rows.map((r) => `${String(r.kind)}:${Number(r.id)}`);
}

/**
 * PostgreSQL: waits until every transaction that wrote an event has ended (the snapshot's xmin is
 * above every `tx_id`), so that the reader's next window holds them all. Transactions of other test
 * files on the same server can hold xmin back for a while; that delays, never loses.
 */
async function settleWriters(orm: MikroORM, dialect: SwlDialect): Promise<void> {
  if (dialect !== 'postgresql') return;
  const conn = orm.em.fork().getConnection();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [row] = (await conn.execute(
      `select greatest((select coalesce(max(tx_id), 0) from swl_loan_event),
                       (select coalesce(max(tx_id), 0) from swl_instance_event))::text as top,
              pg_snapshot_xmin(pg_current_snapshot())::text as xmin`,
    )) as Row[];
    if (Number(row?.xmin) > Number(row?.top)) return;
    await sleep(20);
  }
  throw new Error('an older transaction stayed open for 30 s');
}

/**
 * Checks the invariants with `checkInvariants` (src/operations/invariants.ts, the checks `swl doctor`
 * runs); returns one message per violation (at most 20 per rule).
 */
async function invariantViolations(orm: MikroORM): Promise<string[]> {
  const report = await checkInvariants(orm, { maxPerRule: 20 });
  return [
    ...report.violations.map((v) => `${v.rule}: ${v.message}`),
    ...Object.entries(report.omitted).map(([rule, n]) => `${rule}: … and ${n} more`),
  ];
}

/** Sums of the workers' reports. */
function aggregate(reports: SoakReport[]) {
  const byOutcome: Record<string, number> = {};
  const okByCommand: Record<string, number> = {};
  let ok = 0;
  let attempts = 0;
  for (const r of reports) {
    for (const [command, outcomes] of Object.entries(r.commands)) {
      for (const [outcome, n] of Object.entries(outcomes)) {
        if (outcome === 'skipped') continue;
        byOutcome[outcome] = (byOutcome[outcome] ?? 0) + n;
        attempts += n;
        // The repeats of idempotent commands change nothing: they are not counted as work done.
        if (outcome === 'ok' && !command.endsWith('(idempotent repeat)')) {
          ok += n;
          okByCommand[command] = (okByCommand[command] ?? 0) + n;
        }
      }
    }
  }
  const readsAfterConflict = reports.reduce(
    (sum, r) =>
      sum + Object.values(r.reads['borrowerStanding after CONFLICT'] ?? {}).reduce((a, b) => a + b, 0),
    0,
  );
  return { byOutcome, okByCommand, ok, attempts, readsAfterConflict };
}

describeEachDialect('soak', (dialect, database) => {
  const desk = useDesk(dialect);
  let barrierDir: string;

  beforeAll(async () => {
    await desk.user('staff');
    for (let k = 0; k < 6; k++) await desk.user('student');
    for (let k = 0; k < 4; k++) await desk.user('teacher');
    for (const [category, copies] of [
      ['general', 3],
      ['general', 2],
      ['general', 1],
      ['premium', 2],
      ['premium', 1],
      ['premium', 3],
    ] as const) {
      await desk.entry(category, copies, { title: `Soak ${category} ${copies}` });
    }
    barrierDir = mkdtempSync(join(tmpdir(), 'swl-soak-'));
  });
  afterAll(async () => {
    if (barrierDir) rmSync(barrierDir, { recursive: true, force: true });
  });

  const where = dialect === 'sqlite' ? 'one file' : 'one database';
  it(
    `${WORKERS} OS processes × ${SECONDS} s of random desk commands on ${where}: no invariant violated, no process wedged, only SwlErrors, the outbox saw every event exactly once`,
    async () => {
      const started = Date.now();
      const barrier = join(barrierDir, `start-${dialect}`);
      const workers = Array.from({ length: WORKERS }, (_, k) =>
        startWorker(k, [
          '--dialect',
          dialect,
          '--db',
          desk.db.location,
          '--barrier',
          barrier,
          '--seed',
          String(SEED),
          '--seconds',
          String(SECONDS),
          '--speed',
          String(SPEED),
          '--lanes',
          String(LANES),
        ]),
      );
      const allDone = Promise.all(workers.map((w) => w.done));
      const ready = await within(
        Promise.all(workers.map((w) => w.ready)).then(() => true),
        READY_MS,
        () => false,
      );
      if (!ready) {
        for (const w of workers) w.kill();
        const late = await allDone;
        throw new Error(
          `the workers did not all print ready within ${READY_MS} ms: ${JSON.stringify(
            late.map((r) => ({
              worker: r.worker,
              stdout: r.stdout.slice(-500),
              stderr: r.stderr.slice(-2000),
            })),
          )}`,
        );
      }
      const readyMs = Date.now() - started;

      // The outbox poller: pages of 7 while the workers run.
      const outbox = new SwlOutbox(desk.em());
      const delivered: SwlDomainEvent[] = [];
      const pollerNonSwl: string[] = [];
      const pollerCodes: Record<string, number> = {};
      let cursor: string | undefined;
      let reads = 0;
      const readPage = async (): Promise<number> => {
        reads += 1;
        try {
          const page = await outbox.read({ after: cursor, limit: 7 });
          delivered.push(...page.events);
          cursor = page.cursor;
          return page.events.length;
        } catch (error) {
          if (error instanceof SwlError) pollerCodes[error.code] = (pollerCodes[error.code] ?? 0) + 1;
          else pollerNonSwl.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
          await sleep(10);
          return -1;
        }
      };
      let running = true;
      const poller = (async () => {
        while (running) {
          if ((await readPage()) <= 0) await sleep(5);
        }
      })();

      // Release the barrier (atomically: its content is the start instant).
      const tmp = `${barrier}.tmp`;
      writeFileSync(tmp, String(Date.now()));
      renameSync(tmp, barrier);
      const runStarted = Date.now();

      const ends = await within(allDone, SECONDS * 1000 + EXIT_GRACE_MS, () => null);
      let results: WorkerEnd[];
      if (ends) results = ends;
      else {
        for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.kill();
        results = await allDone;
      }
      const runMs = Date.now() - runStarted;
      running = false;
      await poller;

      // Drain: wait for every writer to have ended (PostgreSQL), then until two empty reads in a row.
      await settleWriters(desk.orm, dialect);
      const drainStarted = Date.now();
      let empty = 0;
      while (empty < 2) {
        const n = await readPage();
        empty = n === 0 ? empty + 1 : 0;
        if (Date.now() - drainStarted > 30_000) throw new Error('the outbox could not be drained in 30 s');
      }

      const rows = await eventRowKeys(desk.orm);
      const rowSet = new Set(rows);
      const deliveredKeys = delivered.map((e) => `${e.kind}:${e.id}`);
      const deliveredSet = new Set(deliveredKeys);
      const missed = rows.filter((k) => !deliveredSet.has(k));
      const duplicated = deliveredKeys.length - deliveredSet.size;
      const unknown = [...deliveredSet].filter((k) => !rowSet.has(k));

      const violations = await invariantViolations(desk.orm);

      const reports = results.flatMap((r) => (r.report ? [r.report] : []));
      const { byOutcome, okByCommand, ok, attempts, readsAfterConflict } = aggregate(reports);
      const wedged = results.filter((r) => r.killed || r.report?.wedged);
      const nonSwl = [
        ...reports.flatMap((r) => r.nonSwlErrors.map((e) => ({ worker: r.worker, ...e }))),
        ...pollerNonSwl.map((message) => ({ worker: 'outbox poller', message })),
      ];
      const mismatched = reports.reduce((sum, r) => sum + r.idempotentRepeatsMismatched, 0);
      const repeats = reports.reduce((sum, r) => sum + r.idempotentRepeats, 0);
      const exits = results.map((r) => ({
        worker: r.worker,
        code: r.code,
        signal: r.signal,
        killed: r.killed,
        report: r.report !== null,
      }));
      const outcomes = Object.entries(byOutcome)
        .sort(([, a], [, b]) => b - a)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      const okCommands = Object.entries(okByCommand)
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      console.log(
        `[${database.label}] soak seed=${SEED}: ${WORKERS} processes × ${LANES} lanes × ${SECONDS} s ` +
          `(ready ${readyMs} ms, run ${runMs} ms): ${attempts} command attempts — ${outcomes}; ` +
          `ok per command — ${okCommands}; ${readsAfterConflict} reads after CONFLICT; ` +
          `${repeats} idempotent repeats (${mismatched} mismatched); ` +
          `outbox: ${rows.length} event rows, ${deliveredKeys.length} delivered in ${reads} reads ` +
          `(${missed.length} missed, ${duplicated} duplicated, ${unknown.length} unknown${
            Object.keys(pollerCodes).length ? `, read errors ${JSON.stringify(pollerCodes)}` : ''
          }); ${violations.length} invariant violations; ${wedged.length} wedged; ${nonSwl.length} non-SwlErrors; ` +
          `total ${Date.now() - started} ms`,
      );

      const context = `seed ${SEED}`;
      const failedWorkers = results.filter((r) => r.code !== 0 || !r.report || r.killed || r.report.wedged);
      expect(
        failedWorkers.map((r) => ({
          worker: r.worker,
          code: r.code,
          signal: r.signal,
          killed: r.killed,
          wedgedAt: r.report?.wedgedAt ?? null,
          stdoutTail: r.stdout.slice(-2000),
          stderrTail: r.stderr.slice(-4000),
        })),
        `workers that wedged, crashed or gave no report (${context})`,
      ).toEqual([]);
      expect(exits.every((e) => e.code === 0 && e.report && !e.killed)).toBe(true);
      expect(wedged, `wedged workers (${context})`).toEqual([]);
      expect(nonSwl, `errors that are not SwlErrors (${context})`).toEqual([]);
      expect(
        reports.flatMap((r) => r.mismatches),
        `idempotent repeats that differed (${context})`,
      ).toEqual([]);
      expect(mismatched).toBe(0);
      expect(ok, `successful commands (${context})`).toBeGreaterThanOrEqual(50);
      expect(okByCommand.approve ?? 0, `successful approvals (${context})`).toBeGreaterThanOrEqual(1);
      const returns = Object.entries(okByCommand)
        .filter(([k]) => k.startsWith('return'))
        .reduce((sum, [, n]) => sum + n, 0);
      expect(returns, `successful returns (${context})`).toBeGreaterThanOrEqual(1);

      expect(violations, `invariant violations (${context})`).toEqual([]);

      expect(missed, `events the outbox never delivered (${context})`).toEqual([]);
      expect(duplicated, `events the outbox delivered more than once (${context})`).toBe(0);
      expect(unknown, `delivered events with no row (${context})`).toEqual([]);
      expect(deliveredSet.size).toBe(rowSet.size);
    },
    (SECONDS + 120) * 1000,
  );
});
