/**
 * A separate OS process for the cross-process SQLite races of `test/reservations-races.test.ts`.
 * It opens database files the way a host would (`openSwlOrm`, so `SwlSqliteDialect`: BEGIN
 * IMMEDIATE, WAL, busy timeout; the `DATABASE_URL` names the SQLite library), prints `ready`, then
 * obeys stdin, one line each:
 *
 * - `{"open": url}` — opens that database (once) and warms it up; prints `opened`;
 * - `{"url": url, "now": ISO, "jobs": WorkerJob[]}` — prepares the commands (each its service on a
 *   new fork, a clock at `now`); prints `armed`;
 * - `go` — runs the armed commands at once and prints their {@link WorkerOutcome}s as one JSON line;
 * - `{"close": url}` — closes that database; prints `closed`;
 * - `stop` — closes everything and exits 0.
 *
 * Several workers armed and then told `go` together are that many writers on one file, each with
 * its own connection: real contention, which one process (one connection, one transaction at a
 * time) cannot produce. Run with Node's type stripping: `node test/reliability/reserve-worker.ts`.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import { ManualClock } from '../../src/clock.ts';
import { openSwlOrm } from '../../src/config.ts';
import { SwlError } from '../../src/errors.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import type { Actor } from '../../src/permissions.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import type { ReserveInput } from '../../src/reservations/schemas.ts';

/** One command of a round. */
export type WorkerJob =
  | { kind: 'reserve'; actor: Actor; input: ReserveInput }
  | { kind: 'approve'; actor: Actor; input: { loanId: number } };

/** What became of one command: its result as JSON, or its error. */
export type WorkerOutcome =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; code: string | null; message: string; details: Record<string, unknown> | null };

/** A command's outcome, as the worker prints it (also used in-process by the test). */
export async function outcomeOf(run: () => Promise<object>): Promise<WorkerOutcome> {
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(await run())) };
  } catch (error) {
    return {
      ok: false,
      code: error instanceof SwlError ? error.code : null,
      message: error instanceof Error ? error.message : String(error),
      details: error instanceof SwlError ? (error.details as Record<string, unknown>) : null,
    };
  }
}

/** The command of `job` on its own fork of `orm`, ready to run. */
export function arm(orm: MikroORM, now: string | Date, job: WorkerJob): () => Promise<object> {
  const options = { clock: new ManualClock(now) };
  if (job.kind === 'reserve') {
    const reservations = new ReservationService(orm.em.fork(), options);
    return () => reservations.reserve(job.actor, job.input);
  }
  const loans = new LoanService(orm.em.fork(), options);
  return () => loans.approve(job.actor, job.input);
}

async function serve(): Promise<void> {
  const orms = new Map<string, MikroORM>();
  const open = async (url: string) => {
    let orm = orms.get(url);
    if (!orm) {
      orm = await openSwlOrm({ databaseUrl: url });
      orms.set(url, orm);
      await orm.em.fork().getConnection().execute('select count(*) from swl_reservation');
    }
    return orm;
  };
  process.stdout.write('ready\n');
  let armed: Array<() => Promise<object>> = [];
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'stop') break;
    if (line === 'go') {
      const outcomes = await Promise.all(armed.map(outcomeOf));
      armed = [];
      process.stdout.write(`${JSON.stringify(outcomes)}\n`);
      continue;
    }
    const message = JSON.parse(line) as
      | { open: string }
      | { close: string }
      | { url: string; now: string; jobs: WorkerJob[] };
    if ('open' in message) {
      await open(message.open);
      process.stdout.write('opened\n');
    } else if ('close' in message) {
      await orms.get(message.close)?.close(true);
      orms.delete(message.close);
      process.stdout.write('closed\n');
    } else {
      const orm = await open(message.url);
      armed = message.jobs.map((job) => arm(orm, message.now, job));
      process.stdout.write('armed\n');
    }
  }
  lines.close();
  for (const orm of orms.values()) await orm.close(true);
}

// Imported by the test for its types and helpers; serves only when run as the program.
if (process.argv[1] === fileURLToPath(import.meta.url)) await serve();
