/**
 * A desk at work, as a separate process, through the installed package (the built `dist`, as a
 * host uses it), for the `swl` transfer and backup tests. Run with the test's Node:
 *
 *   node desk-worker.ts <path of swl-library's dist/index.js> seed
 *     → loans in every state (pending, approved, renewed, returned, returned lost with a settled
 *       penalty, rejected, cancelled), a visit and an idempotent command; prints JSON
 *   node desk-worker.ts <dist/index.js> write
 *     → request / approve / return loans in a loop until killed; prints "ready" after the first
 *
 * The database is DATABASE_URL, already set up by `swl init` (admin with id 1).
 */
import { pathToFileURL } from 'node:url';

const [libPath, mode] = process.argv.slice(2);
if (!libPath || !mode) throw new Error('usage: desk-worker.ts <dist/index.js> seed|write');
const lib = await import(pathToFileURL(libPath).href);
const orm = await lib.openSwlOrm();
const admin = { id: 1, role: 'admin' };
const desk = () => lib.deskServices(orm);
let n = 0;
const person = async (role: string) => {
  n += 1;
  const documentId = `${process.pid}${String(n).padStart(6, '0')}`;
  const user = await desk().users.createUser(admin, { documentId, fullName: `Worker ${role} ${n}`, role });
  return { id: user.id as number, role };
};

if (mode === 'seed') {
  const staff = await person('staff');
  // a title of its own, so that a second seed of the same desk is not held up by the first's
  // waiting request (HOLD_PENDING)
  const entry = await desk().catalog.createEntry(admin, {
    titleOrName: `Calculadora ${process.pid}`,
    category: 'general',
    authorOrBrand: 'Casio',
    replacementCost: 9_900_000,
    copies: 8,
  });
  const loans: Record<string, number> = {};
  const request = async (key: string, extra: Record<string, unknown> = {}) => {
    const borrower = await person('student');
    const loan = await desk().loans.request(borrower, { catalogEntryId: entry.entry.id, ...extra });
    loans[key] = loan.id;
    return { borrower, loanId: loan.id as number };
  };
  const approved = await request('approved');
  await desk().loans.approve(staff, { loanId: approved.loanId, idempotencyKey: `approve-${process.pid}` });
  const renewed = await request('renewed');
  await desk().loans.approve(staff, { loanId: renewed.loanId });
  await desk().loans.renew(staff, { loanId: renewed.loanId });
  const returned = await request('returned');
  await desk().loans.approve(staff, { loanId: returned.loanId });
  await desk().loans.return(staff, { loanId: returned.loanId, outcome: 'ok', observation: 'fine' });
  const lost = await request('lost');
  await desk().loans.approve(staff, { loanId: lost.loanId });
  await desk().loans.return(staff, { loanId: lost.loanId, outcome: 'lost' });
  await desk().loans.settlePenalty(staff, { loanId: lost.loanId, settlement: 'paid', note: 'cash' });
  const rejected = await request('rejected');
  await desk().loans.reject(staff, { loanId: rejected.loanId, reason: 'no stock «ñ»' });
  const cancelled = await request('cancelled');
  await desk().loans.cancel(cancelled.borrower, { loanId: cancelled.loanId, reason: 'changed mind' });
  // last: a waiting request for the title would block the renewal above (HOLD_PENDING)
  await request('pending', { observation: 'waiting' });
  await desk().visitors.recordVisit(staff, {
    visitorName: 'Ana Pérez',
    visitorId: '99887766',
    role: 'student',
    activity: 'study',
  });
  process.stdout.write(`${JSON.stringify({ staff: staff.id, loans })}\n`);
  await orm.close(true);
} else {
  const staff = await person('staff');
  let ready = false;
  const out: number[] = [];
  for (;;) {
    const borrower = await person('student');
    const loan = await desk().loans.request(borrower, { catalogEntryId: 1 });
    await desk().loans.approve(staff, { loanId: loan.id });
    out.push(loan.id);
    // a few loans stay out at any moment; the oldest comes back
    if (out.length > 4) await desk().loans.return(staff, { loanId: out.shift() });
    if (!ready) {
      ready = true;
      process.stdout.write('ready\n');
    }
  }
}
