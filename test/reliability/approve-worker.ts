/**
 * A separate OS process for the cross-process SQLite test (`faults.test.ts`): opens the database
 * file the way a host would (`openSwlOrm`, so `SwlSqliteDialect`: BEGIN IMMEDIATE, WAL, busy timeout), prints
 * `ready`, waits for the start barrier (a file appearing), approves one loan and prints the outcome
 * as one JSON line. Run with Node's type stripping:
 *
 *   node test/reliability/approve-worker.ts <db file> <barrier file> <actor id> <loan id> <ISO instant>
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from '../../src/clock.ts';
import { openSwlOrm } from '../../src/config.ts';
import { SwlError } from '../../src/errors.ts';
import { LoanService } from '../../src/loans/loan.service.ts';

/** What the worker prints after its approval. */
export type WorkerOutcome =
  | { ok: true; status: string; copyId: number | null }
  | { ok: false; code: string | null; message: string };

const [file, barrier, actorId, loanId, instant] = process.argv.slice(2);
if (!file || !barrier || !actorId || !loanId || !instant) {
  process.stderr.write('usage: approve-worker.ts <db> <barrier> <actor id> <loan id> <instant>\n');
  process.exit(2);
}

const orm = await openSwlOrm({ databaseUrl: file });
// Open the file and warm up the metadata before the start, so both workers start the command at once.
await orm.em.fork().getConnection().execute('select count(*) from swl_loan');
process.stdout.write('ready\n');

const deadline = Date.now() + 60_000;
while (!existsSync(barrier)) {
  if (Date.now() > deadline) {
    process.stderr.write('the start barrier never appeared\n');
    process.exit(3);
  }
  await sleep(1);
}

let outcome: WorkerOutcome;
try {
  const loans = new LoanService(orm.em.fork(), { clock: new ManualClock(instant) });
  const loan = await loans.approve({ id: Number(actorId), role: 'staff' }, { loanId: Number(loanId) });
  outcome = { ok: true, status: loan.status, copyId: loan.copyId };
} catch (error) {
  outcome = {
    ok: false,
    code: error instanceof SwlError ? error.code : null,
    message: error instanceof Error ? error.message : String(error),
  };
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await orm.close(true);
