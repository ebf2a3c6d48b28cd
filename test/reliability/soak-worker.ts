/**
 * One OS process of the multi-process soak test (`soak.test.ts`, issue 10): it opens its own
 * MikroORM on the database named on the command line as a host does (`openSwlOrm`) — SQLite
 * through `SwlSqliteDialect` with a deliberately short busy timeout (300 ms), so that busy timeouts
 * at `BEGIN IMMEDIATE` really happen under load (the path that used to wedge the ORM), or
 * PostgreSQL through `PostgreSqlDriver` with its prepared statements —
 * reads the users, entries and copies the parent seeded, prints `ready`, waits for the start barrier
 * (a file appearing; its content is the wall-clock start in ms), and then, for a fixed duration,
 * runs random desk commands from a seeded PRNG in `--lanes` concurrent loops sharing the ORM:
 * request (by copy or by title, for oneself or by the desk), approve (sometimes naming the copy),
 * reject, cancel, renew, return (ok / damaged / lost), settlePenalty, and the direct copy changes
 * (sendToMaintenance / repair / markLost / markFound), on loans and copies it reads through the
 * package's own reads (`pendingQueue`; `overdueLoans` a year ahead, i.e. every approved loan;
 * `listBorrowerLoans` for returned loans with an open penalty; `listCopies`).
 *
 * - About a quarter of the commands carry an `idempotencyKey`; after a success the command is
 *   repeated once with the same key and input, and the repeat must return a deep-equal result.
 * - Every error must be an `SwlError`; `CONFLICT` / `UNAVAILABLE` are retried (3 more attempts),
 *   and after every `CONFLICT` a read (`borrowerStanding`) proves the ORM still answers.
 * - A watchdog: any single command or read that has not settled within 10 s marks the worker
 *   `wedged`; it then reports at once and exits without waiting for the stuck promise.
 * - Time: a clock running `--speed` times faster than the wall clock from `T0` (default 7200×, two
 *   hours per second), the same in every process (it is derived from the barrier's start instant),
 *   so premium loans (8 h) fall overdue during a run: fines, `LOAN_OVERDUE`, `BORROWER_BLOCKED`.
 *
 * At the end it prints ONE JSON line ({@link SoakReport}) and exits 0 (also when wedged: the report
 * says so). Run with Node's type stripping:
 *
 *   node test/reliability/soak-worker.ts --dialect sqlite|postgresql --db <file or URL>
 *     --barrier <file> --worker <n> --seed <n> --seconds <n> [--speed 7200] [--lanes 2]
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import type { Clock } from '../../src/clock.ts';
import { openSwlOrm } from '../../src/config.ts';
import type { Category, Role } from '../../src/domain/vocabulary.ts';
import { SwlError } from '../../src/errors.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import type { LoanView } from '../../src/loans/views.ts';
import type { Actor } from '../../src/permissions.ts';

/** What the worker prints as its last line. */
export interface SoakReport {
  worker: number;
  seed: number;
  dialect: string;
  lanes: number;
  /** Wall-clock milliseconds from the barrier to the end of the last command. */
  durationMs: number;
  /** Per command: attempts by outcome (`ok`, an `SwlError` code, or `skipped` when nothing fit). */
  commands: Record<string, Record<string, number>>;
  /** Per read (the reads that pick targets, and the read after each CONFLICT): outcomes. */
  reads: Record<string, Record<string, number>>;
  /** Commands still CONFLICT/UNAVAILABLE after the last retry. */
  retriesExhausted: number;
  /** Errors that were not `SwlError`s (should be none), with their messages. */
  nonSwlErrors: Array<{ what: string; name: string; message: string; stack?: string }>;
  /** True when a command or read did not settle within the watchdog's limit. */
  wedged: boolean;
  /** What was running when the watchdog fired. */
  wedgedAt: string | null;
  idempotentRepeats: number;
  idempotentRepeatsMismatched: number;
  /** Up to five mismatches (first result and repeat, or the repeat's error). */
  mismatches: unknown[];
}

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string' },
    db: { type: 'string' },
    barrier: { type: 'string' },
    worker: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '8' },
    speed: { type: 'string', default: '7200' },
    lanes: { type: 'string', default: '2' },
  },
});
const dialect = args.dialect;
if ((dialect !== 'sqlite' && dialect !== 'postgresql') || !args.db || !args.barrier) {
  process.stderr.write(
    'usage: soak-worker.ts --dialect sqlite|postgresql --db <file|url> --barrier <file> [--worker n] [--seed n] [--seconds n] [--speed n] [--lanes n]\n',
  );
  process.exit(2);
}
const location = args.db;
const barrier = args.barrier;
const workerIndex = Number(args.worker);
const seed = Number(args.seed);
const seconds = Number(args.seconds);
const speed = Number(args.speed);
const laneCount = Math.max(1, Number(args.lanes));

/** SQLite busy timeout: short, so that waiting writers really time out under load. */
const BUSY_TIMEOUT_MS = 300;
/** A command or read that takes longer than this is a wedge. */
const WATCHDOG_MS = 10_000;
/** Further attempts after CONFLICT / UNAVAILABLE. */
const RETRIES = 3;
/** The desk clock starts here (the fixtures' T0) and runs `speed` times faster than the wall clock. */
const T0_MS = Date.parse('2026-03-02T13:00:00.000Z');

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32), one stream per lane
// ---------------------------------------------------------------------------------------------

function prng(s: number) {
  let state = s >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    pick<T>(items: readonly T[]): T | undefined {
      return items.length === 0 ? undefined : items[Math.floor(next() * items.length)];
    },
    weighted<T extends string>(table: ReadonlyArray<readonly [T, number]>): T {
      const total = table.reduce((sum, [, w]) => sum + w, 0);
      let r = next() * total;
      for (const [value, w] of table) {
        r -= w;
        if (r < 0) return value;
      }
      return (table.at(-1) as readonly [T, number])[0];
    },
  };
}
type Rng = ReturnType<typeof prng>;

// ---------------------------------------------------------------------------------------------
// The ORM
// ---------------------------------------------------------------------------------------------

// Opened as a host opens it (`swlOrmConfig` with the location as DATABASE_URL).
const orm = await openSwlOrm({
  databaseUrl: location,
  sqlite: { busyTimeoutMs: BUSY_TIMEOUT_MS },
  overrides: dialect === 'postgresql' ? { pool: { min: 0, max: laneCount + 1 } } : {},
});

/** The seeded population, read once before the start (the parent created it). */
const connection = orm.em.fork().getConnection();
const users = (
  (await connection.execute('select id, role, active from swl_user order by id')) as {
    id: number | string;
    role: Role;
    active: boolean | number;
  }[]
).filter((u) => u.active === true || u.active === 1);
const entries = (
  (await connection.execute('select id, category from swl_catalog order by id')) as {
    id: number | string;
    category: Category;
  }[]
).map((e) => ({ id: Number(e.id), category: e.category }));
const copies = (
  (await connection.execute('select id, catalog_entry_id from swl_item_instance order by id')) as {
    id: number | string;
    catalog_entry_id: number | string;
  }[]
).map((c) => ({ id: Number(c.id), entry: Number(c.catalog_entry_id) }));
const actors = users.map((u): Actor => ({ id: Number(u.id), role: u.role }));
const desk = actors.filter((a) => a.role === 'staff' || a.role === 'admin');
const borrowers = actors.filter((a) => a.role === 'student' || a.role === 'teacher');
const roleOf = new Map(actors.map((a) => [a.id, a.role]));
if (desk.length === 0 || borrowers.length === 0 || entries.length === 0 || copies.length === 0) {
  process.stderr.write('the database has no desk users, borrowers, entries or copies\n');
  process.exit(2);
}

process.stdout.write('ready\n');

const waitUntil = Date.now() + 120_000;
while (!existsSync(barrier)) {
  if (Date.now() > waitUntil) {
    process.stderr.write('the start barrier never appeared\n');
    process.exit(3);
  }
  await sleep(2);
}
const written = Number(readFileSync(barrier, 'utf8'));
/** Wall-clock start of the run, the same in every process (the barrier's content). */
const start = Number.isFinite(written) && written > 0 ? written : Date.now();
const deadline = start + seconds * 1000;
const clock: Clock = { now: () => new Date(T0_MS + Math.max(0, Date.now() - start) * speed) };

// ---------------------------------------------------------------------------------------------
// Bookkeeping
// ---------------------------------------------------------------------------------------------

const report: SoakReport = {
  worker: workerIndex,
  seed,
  dialect,
  lanes: laneCount,
  durationMs: 0,
  commands: {},
  reads: {},
  retriesExhausted: 0,
  nonSwlErrors: [],
  wedged: false,
  wedgedAt: null,
  idempotentRepeats: 0,
  idempotentRepeatsMismatched: 0,
  mismatches: [],
};

function tally(table: Record<string, Record<string, number>>, name: string, outcome: string): void {
  const row = table[name] ?? {};
  row[outcome] = (row[outcome] ?? 0) + 1;
  table[name] = row;
}

function printReport(): void {
  report.durationMs = Date.now() - start;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** Raised by the watchdog; ends the run. */
class Wedged extends Error {}

let wedgeSignal!: (what: string) => void;
const wedge = new Promise<string>((resolve) => {
  wedgeSignal = resolve;
});

/** `promise`, or {@link Wedged} when it has not settled within {@link WATCHDOG_MS}. */
async function watched<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (!report.wedged) {
        report.wedged = true;
        report.wedgedAt = `${what} did not settle within ${WATCHDOG_MS} ms`;
      }
      wedgeSignal(what);
      reject(new Wedged(what));
    }, WATCHDOG_MS);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function recordNonSwl(what: string, error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  report.nonSwlErrors.push({
    what,
    name: e.name,
    message: e.message,
    stack: e.stack?.split('\n').slice(0, 8).join('\n'),
  });
}

/** A read of the package; `undefined` when it failed (counted by outcome). */
async function read<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    const value = await watched(`read ${name}`, run());
    tally(report.reads, name, 'ok');
    return value;
  } catch (error) {
    if (error instanceof Wedged) throw error;
    if (error instanceof SwlError) tally(report.reads, name, error.code);
    else {
      tally(report.reads, name, 'nonSwl');
      recordNonSwl(`read ${name}`, error);
    }
    return undefined;
  }
}

const loansOf = () => new LoanService(orm.em.fork(), { clock });
const catalogOf = () => new CatalogService(orm.em.fork(), { clock });

/** The read that proves the ORM still answers after a CONFLICT. */
async function readAfterConflict(rng: Rng): Promise<void> {
  const staff = rng.pick(desk) as Actor;
  const borrower = rng.pick(borrowers) as Actor;
  await read('borrowerStanding after CONFLICT', () =>
    loansOf().borrowerStanding(staff, { borrowerId: borrower.id }),
  );
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: SwlError };

/**
 * Runs one command (fresh service per attempt), retrying CONFLICT / UNAVAILABLE; every attempt is
 * counted under `name`. A non-SwlError ends the attempts and is recorded.
 */
async function attempt<T>(name: string, rng: Rng, run: () => Promise<T>): Promise<Attempt<T> | undefined> {
  for (let k = 0; ; k++) {
    try {
      const value = await watched(name, run());
      tally(report.commands, name, 'ok');
      return { ok: true, value };
    } catch (error) {
      if (error instanceof Wedged) throw error;
      if (!(error instanceof SwlError)) {
        tally(report.commands, name, 'nonSwl');
        recordNonSwl(name, error);
        return undefined;
      }
      tally(report.commands, name, error.code);
      if (error.code === 'CONFLICT') await readAfterConflict(rng);
      if (!error.retryable) return { ok: false, error };
      if (k >= RETRIES) {
        report.retriesExhausted += 1;
        return { ok: false, error };
      }
      await sleep(5 + rng.int(25));
    }
  }
}

let keySeq = 0;

/**
 * A command, with an idempotency key a quarter of the time; after a success with a key, the same
 * call is repeated once and must return a deep-equal result.
 */
async function command<T>(
  name: string,
  rng: Rng,
  lane: number,
  run: (idempotencyKey: string | undefined) => Promise<T>,
): Promise<void> {
  const key = rng.chance(0.25) ? `soak-${seed}-w${workerIndex}-l${lane}-${++keySeq}` : undefined;
  const first = await attempt(name, rng, () => run(key));
  if (!key || !first?.ok) return;
  report.idempotentRepeats += 1;
  const repeat = await attempt(`${name} (idempotent repeat)`, rng, () => run(key));
  const same = repeat?.ok === true && isDeepStrictEqual(repeat.value, first.value);
  if (!same) {
    report.idempotentRepeatsMismatched += 1;
    if (report.mismatches.length < 5) {
      report.mismatches.push({
        command: name,
        key,
        first: first.value,
        repeat: repeat === undefined ? 'non-SwlError' : repeat.ok ? repeat.value : repeat.error.toJSON(),
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------------

type CommandName =
  | 'request'
  | 'approve'
  | 'reject'
  | 'cancel'
  | 'renew'
  | 'return'
  | 'settlePenalty'
  | 'copy';

const WEIGHTS: ReadonlyArray<readonly [CommandName, number]> = [
  ['request', 30],
  ['approve', 22],
  ['reject', 3],
  ['cancel', 4],
  ['renew', 8],
  ['return', 16],
  ['settlePenalty', 8],
  ['copy', 9],
];

const ENVIRONMENTS = ['Aula 101', 'Aula 204', 'Laboratorio', 'Auditorio'];

async function pendingLoan(rng: Rng): Promise<LoanView | undefined> {
  const page = await read('pendingQueue', () =>
    loansOf().pendingQueue(rng.pick(desk) as Actor, { limit: 100 }),
  );
  return rng.pick(page?.items ?? []);
}

/**
 * A random `aprobado` loan: `overdueLoans` as of a year ahead of the desk clock lists every approved
 * loan in one read.
 */
async function approvedLoan(rng: Rng): Promise<LoanView | undefined> {
  const asOf = new Date(clock.now().getTime() + 365 * 86_400_000);
  const page = await read('overdueLoans', () =>
    loansOf().overdueLoans(rng.pick(desk) as Actor, { asOf, limit: 200 }),
  );
  return rng.pick(page?.items ?? []);
}

/** A loan of a random borrower that `fits`, trying a few borrowers. */
async function borrowerLoan(
  rng: Rng,
  scope: 'active' | 'past',
  fits: (loan: LoanView) => boolean,
): Promise<LoanView | undefined> {
  for (let tries = 0; tries < 3; tries++) {
    const borrower = rng.pick(borrowers) as Actor;
    const page = await read(`listBorrowerLoans ${scope}`, () =>
      loansOf().listBorrowerLoans(rng.pick(desk) as Actor, { borrowerId: borrower.id, scope, limit: 100 }),
    );
    const found = rng.pick((page?.items ?? []).filter(fits));
    if (found) return found;
  }
  return undefined;
}

async function step(rng: Rng, lane: number): Promise<void> {
  const which = rng.weighted(WEIGHTS);
  const staff = () => rng.pick(desk) as Actor;
  const skipped = (name: string) => tally(report.commands, name, 'skipped');

  switch (which) {
    case 'request': {
      const borrower = rng.pick(borrowers) as Actor;
      const byDesk = rng.chance(0.2);
      const actor = byDesk ? staff() : borrower;
      const copy = rng.chance(0.5) ? (rng.pick(copies) as { id: number; entry: number }) : undefined;
      const entry = copy
        ? (entries.find((e) => e.id === copy.entry) as { id: number; category: Category })
        : (rng.pick(entries) as { id: number; category: Category });
      const environment = rng.chance(entry.category === 'premium' ? 0.85 : 0.2)
        ? rng.pick(ENVIRONMENTS)
        : undefined;
      const name = copy ? 'request by copy' : 'request by title';
      await command(name, rng, lane, (idempotencyKey) =>
        loansOf().request(actor, {
          ...(byDesk ? { borrowerId: borrower.id } : {}),
          ...(copy ? { copyId: copy.id } : { catalogEntryId: entry.id }),
          ...(environment ? { environment } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
        }),
      );
      return;
    }
    case 'approve': {
      const loan = await pendingLoan(rng);
      if (!loan) return skipped('approve');
      const candidates = copies.filter((c) => c.entry === loan.catalogEntryId);
      const named = loan.copyId === null && rng.chance(0.3) ? rng.pick(candidates) : undefined;
      const actor = staff(); // chosen once: a repeat by another user is another call
      await command('approve', rng, lane, (idempotencyKey) =>
        loansOf().approve(actor, {
          loanId: loan.id,
          ...(named ? { copyId: named.id } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
        }),
      );
      return;
    }
    case 'reject': {
      const loan = await pendingLoan(rng);
      if (!loan) return skipped('reject');
      const actor = staff();
      await command('reject', rng, lane, (idempotencyKey) =>
        loansOf().reject(actor, {
          loanId: loan.id,
          reason: 'soak: not available this week',
          ...(idempotencyKey ? { idempotencyKey } : {}),
        }),
      );
      return;
    }
    case 'cancel': {
      const loan = await pendingLoan(rng);
      if (!loan) return skipped('cancel');
      const role = roleOf.get(loan.borrowerId) ?? 'student';
      const admin = desk.find((a) => a.role === 'admin');
      const actor = rng.chance(0.1) && admin ? admin : { id: loan.borrowerId, role };
      await command('cancel', rng, lane, (idempotencyKey) =>
        loansOf().cancel(actor, { loanId: loan.id, ...(idempotencyKey ? { idempotencyKey } : {}) }),
      );
      return;
    }
    case 'renew': {
      const loan = await approvedLoan(rng);
      if (!loan) return skipped('renew');
      const actor = rng.chance(0.5)
        ? { id: loan.borrowerId, role: roleOf.get(loan.borrowerId) ?? 'student' }
        : staff();
      await command('renew', rng, lane, (idempotencyKey) =>
        loansOf().renew(actor, { loanId: loan.id, ...(idempotencyKey ? { idempotencyKey } : {}) }),
      );
      return;
    }
    case 'return': {
      const loan = await approvedLoan(rng);
      if (!loan) return skipped('return');
      const outcome = rng.weighted([
        ['ok', 6],
        ['damaged', 2],
        ['lost', 2],
      ] as const);
      const actor = staff();
      await command(`return ${outcome}`, rng, lane, (idempotencyKey) =>
        loansOf().return(actor, {
          loanId: loan.id,
          outcome,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        }),
      );
      return;
    }
    case 'settlePenalty': {
      const loan = await borrowerLoan(
        rng,
        'past',
        (l) => l.status === 'devuelto' && l.finalPenalty > 0 && l.penaltySettlement === null,
      );
      if (!loan) return skipped('settlePenalty');
      const settlement = rng.chance(0.5) ? 'paid' : 'waived';
      const actor = staff();
      await command('settlePenalty', rng, lane, (idempotencyKey) =>
        loansOf().settlePenalty(actor, {
          loanId: loan.id,
          settlement,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        }),
      );
      return;
    }
    case 'copy': {
      const entry = rng.pick(entries) as { id: number };
      const actor = staff();
      const page = await read('listCopies', () =>
        catalogOf().listCopies(actor, { catalogEntryId: entry.id, limit: 100 }),
      );
      const copy = rng.pick(page?.items ?? []);
      if (!copy) return skipped('copy');
      type Op = 'sendToMaintenance' | 'repair' | 'markLost' | 'markFound';
      const fitting: Record<string, Op[]> = {
        disponible: ['sendToMaintenance', 'markLost'],
        mantenimiento: ['repair'],
        perdido: ['markFound', 'markFound', 'sendToMaintenance'],
        prestado: ['sendToMaintenance', 'markLost'], // refused: a copy on loan changes only through loans
      };
      const all: Op[] = ['sendToMaintenance', 'repair', 'markLost', 'markFound'];
      const op = (rng.chance(0.8) ? rng.pick(fitting[copy.status] ?? all) : rng.pick(all)) as Op;
      const expectedVersion = rng.chance(0.3) ? copy.version : undefined;
      await command(op, rng, lane, (idempotencyKey) =>
        catalogOf()[op](actor, {
          copyId: copy.id,
          note: `soak worker ${workerIndex}`,
          ...(expectedVersion !== undefined ? { expectedVersion } : {}),
          ...(idempotencyKey ? { idempotencyKey } : {}),
        }),
      );
      return;
    }
  }
}

async function lane(index: number): Promise<void> {
  const rng = prng(seed * 1000 + workerIndex * 31 + index * 7 + 1);
  while (Date.now() < deadline && !report.wedged) {
    try {
      await step(rng, index);
    } catch (error) {
      if (error instanceof Wedged) return;
      recordNonSwl('lane', error);
    }
  }
}

const lanes = Promise.all(Array.from({ length: laneCount }, (_, k) => lane(k)));
const ended = await Promise.race([lanes.then(() => 'done' as const), wedge]);
printReport();
if (ended !== 'done') {
  // A stuck promise holds the ORM: do not wait for it (nor for close).
  process.exit(0);
}
await orm.close(true);
process.exit(0);
