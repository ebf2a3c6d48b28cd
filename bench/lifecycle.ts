/**
 * Section 1 — the loan lifecycle through `LoanService` (request → approve → return) against the
 * hand-written raw-SQL floor of `lib/floor.ts`, on the same database and driver.
 *
 * Each command is a tinybench task; its precondition (a pending loan to approve, an approved loan
 * to return) is prepared outside the timed window when the previous task left none. Each service
 * call uses a new `em.fork()`, as a host's request handler would.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { SwlDialect } from '../migrations/index.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import type { Actor } from '../src/permissions.ts';
import type { BenchConfig } from './lib/config.ts';
import { COPIES_PER_ENTRY, FIRST_BORROWER_ID, loadBase, STAFF_ID, seedPolicies } from './lib/dataset.ts';
import { createScratchDb, openBenchOrm, openRaw } from './lib/db.ts';
import { Floor } from './lib/floor.ts';
import { type Measured, measurePaired } from './lib/measure.ts';

export interface LifecycleRow {
  dialect: SwlDialect;
  command: 'request' | 'approve' | 'return';
  service: Measured;
  floor: Measured;
  /** service ÷ floor mean latency: median of the rounds, and its range. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

interface OpenLoan {
  id: number;
  borrower: number;
  entry: number;
}

/** Round-robin picker of (borrower, entry) pairs that keeps every borrower under the policy limit and every entry with a free copy. */
class Desk {
  readonly pending: OpenLoan[] = [];
  readonly approved: OpenLoan[] = [];
  readonly #activeByBorrower: Uint8Array;
  readonly #reservedByEntry: Uint8Array;
  #nextBorrower = 0;
  #nextEntry = 0;

  readonly borrowers: number;
  readonly entries: number;

  constructor(borrowers: number, entries: number) {
    this.borrowers = borrowers;
    this.entries = entries;
    this.#activeByBorrower = new Uint8Array(borrowers);
    this.#reservedByEntry = new Uint8Array(entries);
  }

  /** Next borrower (index) with fewer than 4 open loans and next entry (index) with a free copy. */
  next(): { borrower: number; entry: number } {
    let b = this.#nextBorrower;
    for (let i = 0; (this.#activeByBorrower[b] as number) >= 4; i++) {
      if (i > this.borrowers) throw new Error('lifecycle fixture: every borrower is at the limit');
      b = (b + 1) % this.borrowers;
    }
    let e = this.#nextEntry;
    for (let i = 0; (this.#reservedByEntry[e] as number) >= COPIES_PER_ENTRY; i++) {
      if (i > this.entries) throw new Error('lifecycle fixture: no entry has a free copy');
      e = (e + 1) % this.entries;
    }
    this.#nextBorrower = (b + 1) % this.borrowers;
    this.#nextEntry = (e + 1) % this.entries;
    return { borrower: b, entry: e };
  }

  opened(loan: OpenLoan): void {
    (this.#activeByBorrower[loan.borrower] as number)++;
    (this.#reservedByEntry[loan.entry] as number)++;
    this.pending.push(loan);
  }

  closed(loan: OpenLoan): void {
    (this.#activeByBorrower[loan.borrower] as number)--;
    (this.#reservedByEntry[loan.entry] as number)--;
  }
}

export async function runLifecycle(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  log: (line: string) => void,
): Promise<LifecycleRow[]> {
  const borrowers = config.quick ? 2_000 : 20_000;
  const entries = config.quick ? 2_000 : 20_000;
  const db = await createScratchDb(dialect, 'lifecycle', postgresUrl);
  const orm: MikroORM = await openBenchOrm(db);
  await seedPolicies(orm);
  const raw = openRaw(db, 1);
  await loadBase(raw, {
    borrowers,
    teacherEvery: 1,
    entries,
    copiesPerEntry: COPIES_PER_ENTRY,
    premiumEvery: 0,
  });
  await raw.query('analyze');
  log(`  lifecycle fixture: ${borrowers} teachers, ${entries} entries × ${COPIES_PER_ENTRY} copies`);

  const floor = new Floor(raw);
  const staff: Actor = { id: STAFF_ID, role: 'staff' };
  const actorOf = (b: number): Actor => ({ id: FIRST_BORROWER_ID + b, role: 'teacher' });
  const desk = new Desk(borrowers, entries);

  const requestWith = async (impl: 'service' | 'floor') => {
    const { borrower, entry } = desk.next();
    const id =
      impl === 'service'
        ? (await new LoanService(orm.em.fork()).request(actorOf(borrower), { catalogEntryId: entry + 1 })).id
        : await floor.request(actorOf(borrower), entry + 1);
    desk.opened({ id, borrower, entry });
  };
  const ensurePending = async () => {
    if (desk.pending.length === 0) await requestWith('floor');
  };
  const ensureApproved = async () => {
    if (desk.approved.length > 0) return;
    await ensurePending();
    const loan = desk.pending.shift() as OpenLoan;
    await floor.approve(staff, loan.id);
    desk.approved.push(loan);
  };
  const approveWith = async (impl: 'service' | 'floor') => {
    const loan = desk.pending.shift() as OpenLoan;
    if (impl === 'service') await new LoanService(orm.em.fork()).approve(staff, { loanId: loan.id });
    else await floor.approve(staff, loan.id);
    desk.approved.push(loan);
  };
  const returnWith = async (impl: 'service' | 'floor') => {
    const loan = desk.approved.shift() as OpenLoan;
    if (impl === 'service')
      await new LoanService(orm.em.fork()).return(staff, { loanId: loan.id, outcome: 'ok' });
    else await floor.return(staff, loan.id);
    desk.closed(loan);
  };

  const rows: LifecycleRow[] = [];
  const commands = [
    { command: 'request' as const, run: requestWith, before: async () => {} },
    { command: 'approve' as const, run: approveWith, before: ensurePending },
    { command: 'return' as const, run: returnWith, before: ensureApproved },
  ];
  for (const { command, run, before } of commands) {
    const task = (impl: 'floor' | 'service') => ({
      name: `${command} ${impl}`,
      fn: () => run(impl),
      options: { beforeEach: before },
    });
    const m = await measurePaired(task('floor'), task('service'), {
      name: `lifecycle ${command} ${dialect}`,
      timeMs: config.taskTimeMs,
      iterations: config.taskIterations,
      rounds: config.rounds,
    });
    const row: LifecycleRow = {
      dialect,
      command,
      floor: m.baseline,
      service: m.candidate,
      ratio: m.ratio,
      ratioMin: m.ratioMin,
      ratioMax: m.ratioMax,
    };
    log(
      `  ${command.padEnd(8)} service ${row.service.meanMs.toFixed(3)} ms ±${row.service.rmePct.toFixed(1)}% | floor ${row.floor.meanMs.toFixed(3)} ms ±${row.floor.rmePct.toFixed(1)}% | ratio ${row.ratio.toFixed(2)} (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)})`,
    );
    rows.push(row);
  }
  return rows;
}
