/**
 * SQLite: a busy timeout at `BEGIN IMMEDIATE` must cost one `CONFLICT`, not the process.
 *
 * Issue 10, defect 1. Another connection to the file (here a raw `node:sqlite` handle, standing in
 * for a second process) holds the write lock past the ORM's busy timeout, so the ORM's
 * `BEGIN IMMEDIATE` fails. The command gets `CONFLICT`, as documented; afterwards every query of
 * that ORM must still run. Kysely 0.29 took the single connection's lock before
 * `beginTransaction()` and never gave it back when that threw, so every later query — reads and
 * the retry included — waited forever. Each await that could wedge is raced against a timeout, so
 * a regression fails the test instead of hanging the suite.
 *
 * SQLite only: PostgreSQL has no such path (a pooled connection per transaction, no connection
 * lock in Kysely, and `BEGIN` itself never waits on another transaction).
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { toSwlError } from '../../src/internal/translate-error.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import { SWL_SQLITE_DRIVERS, type SwlSqliteDriverName } from '../../src/sqlite.ts';
import { openRawSqlite } from '../support/db.ts';
import { deferred, expectSwlError, useDesk } from '../support/fixtures.ts';

/** The ORM's busy timeout: short, so the holder outlives it quickly. */
const BUSY_TIMEOUT_MS = 200;
/** How long any single await may take before the connection counts as wedged. */
const SETTLE_MS = 5_000;

/** Awaits `promise`, or fails with a clear message when it has not settled within {@link SETTLE_MS}. */
async function settles<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const wedged = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`${what} did not settle within ${SETTLE_MS} ms: the SQLite connection is wedged`)),
      SETTLE_MS,
    );
  });
  try {
    return await Promise.race([promise, wedged]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Takes the file's write lock on a separate connection (as another process would), with the
 * ORM's own SQLite library (another library in the same process would not see its locks).
 */
function holdWriteLock(file: string, driver: SwlSqliteDriverName): { release(): void } {
  const other = openRawSqlite(file, driver);
  other.exec('begin immediate');
  return {
    release() {
      try {
        other.exec('commit');
      } catch (error) {
        if (!/no transaction is active/i.test(String(error))) throw error;
      } finally {
        other.close();
      }
    },
  };
}

for (const driver of SWL_SQLITE_DRIVERS)
  describe(`[sqlite · ${driver}] busy timeout at BEGIN IMMEDIATE`, () => {
    const desk = useDesk('sqlite', { per: 'test', sqlite: { busyTimeoutMs: BUSY_TIMEOUT_MS, driver } });

    /** One busy round: CONFLICT while the lock is held elsewhere, then a read and the retry work. */
    async function busyRound(round: string) {
      const entry = await desk.entry('general', 1);
      const student = await desk.user('student');
      const loans = new LoanService(desk.em(), { clock: desk.clock });

      const holder = holdWriteLock(desk.db.file, driver);
      let error: Awaited<ReturnType<typeof expectSwlError>>;
      try {
        error = await expectSwlError(
          settles(
            `${round}: request while another connection writes`,
            loans.request(student, { catalogEntryId: entry.id }),
          ),
          'CONFLICT',
        );
      } finally {
        holder.release();
      }
      expect(error.retryable).toBe(true);
      expect(String((error.cause as Error | undefined)?.message)).toMatch(/locked|busy/i);

      // A read of that ORM, then the same command retried: both settle.
      const standing = await settles(`${round}: read after the CONFLICT`, loans.borrowerStanding(student));
      expect(standing.blocked).toBe(false);
      const loan = await settles(
        `${round}: retried request`,
        loans.request(student, { catalogEntryId: entry.id }),
      );
      expect(loan.status).toBe('pendiente');
      const details = await settles(
        `${round}: read of the new loan`,
        loans.getLoan(student, { loanId: loan.id }),
      );
      expect(details.id).toBe(loan.id);
    }

    it('a busy timeout at BEGIN IMMEDIATE does not wedge the process: CONFLICT, then reads and the retry work', async () => {
      await busyRound('first busy timeout');
    });

    it('two busy timeouts in a row do not wedge it either', async () => {
      await busyRound('first busy timeout');
      await busyRound('second busy timeout');
    });

    it("a busy BEGIN through Kysely's transaction().execute() releases the connection exactly once: it stays exclusive afterwards", async () => {
      const em = desk.em() as SqlEntityManager;
      const kysely = em.getKysely();
      const entry = await desk.entry('general', 1);

      const holder = holdWriteLock(desk.db.file, driver);
      try {
        await expectSwlError(
          settles(
            'transaction().execute() while another connection writes',
            kysely.transaction().execute(async (trx) => {
              await sql`update swl_catalog set title_or_name = 'never' where id = ${entry.id}`.execute(trx);
            }),
          ).catch((error: unknown) => {
            throw toSwlError(error);
          }),
          'CONFLICT',
        );
      } finally {
        holder.release();
      }

      // Kysely released the connection in its `finally` as well; that second release must not have
      // freed anybody else's turn. An open transaction keeps the connection to itself: a read from
      // elsewhere waits for it and then sees only the committed value.
      const rows = await settles(
        'read after the failed transaction().execute()',
        sql<{ title: string }>`select title_or_name as title from swl_catalog where id = ${entry.id}`.execute(
          kysely,
        ),
      );
      expect(rows.rows).toHaveLength(1);

      const finished = deferred();
      const written = deferred();
      const writer = kysely.transaction().execute(async (trx) => {
        await sql`update swl_catalog set title_or_name = 'committed' where id = ${entry.id}`.execute(trx);
        written.resolve();
        await finished.promise;
      });
      await settles('write inside the transaction', written.promise);
      let readDone = false;
      const reader = sql<{
        title: string;
      }>`select title_or_name as title from swl_catalog where id = ${entry.id}`
        .execute(kysely)
        .then((r) => {
          readDone = true;
          return r.rows[0]?.title;
        });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(readDone, 'a read ran on the connection while another transaction held it').toBe(false);
      finished.resolve();
      await settles('the transaction', writer);
      expect(await settles('the waiting read', reader)).toBe('committed');

      // And the ORM's own (controlled) transactions still work after all this.
      const student = await desk.user('student');
      const loan = await settles(
        'request after the non-controlled failure',
        new LoanService(desk.em(), { clock: desk.clock }).request(student, { catalogEntryId: entry.id }),
      );
      expect(loan.status).toBe('pendiente');
    });
  });
