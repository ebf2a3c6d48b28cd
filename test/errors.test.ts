import { MikroORM } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogEntry } from '../src/entities/catalog-entry.entity.ts';
import { User } from '../src/entities/user.entity.ts';
import { SWL_ERROR_CODES, SWL_HTTP_STATUS, SwlError } from '../src/errors.ts';
import { convertDriverError, toSwlError } from '../src/internal/translate-error.ts';
import { SWL_SQLITE_DRIVERS } from '../src/sqlite.ts';
import { openRawSqlite } from './support/db.ts';
import { deferred, describeEachDialect, expectSwlError, useTestOrm } from './support/fixtures.ts';

describe('SwlError', () => {
  it('has an HTTP status for every code, and only CONFLICT/UNAVAILABLE are retryable', () => {
    for (const code of SWL_ERROR_CODES) expect(SWL_HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
    expect(SWL_ERROR_CODES.filter((c) => new SwlError(c, 'x').retryable)).toEqual([
      'CONFLICT',
      'UNAVAILABLE',
    ]);
  });
  it('CAPACITY_EXCEEDED is 507 Insufficient Storage and not retryable', () => {
    expect(SWL_ERROR_CODES).toContain('CAPACITY_EXCEEDED');
    const e = new SwlError('CAPACITY_EXCEEDED', 'full');
    expect(e.httpStatus).toBe(507);
    expect(e.retryable).toBe(false);
  });
  it('serializes code, message and details, never the cause', () => {
    const e = new SwlError(
      'CONFLICT',
      'try again',
      { loanId: 3 },
      { cause: new Error('secret driver text') },
    );
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: 'CONFLICT',
      message: 'try again',
      details: { loanId: 3 },
    });
  });
});

describeEachDialect('driver error translation', (dialect) => {
  const t = useTestOrm(dialect);
  beforeAll(async () => {
    const em = t.orm.em.fork();
    const u = em.create(User, { documentId: 'D-1', fullName: 'A', role: 'student', email: 'a@example.edu' });
    const entry = em.create(CatalogEntry, { titleOrName: 'Libro', category: 'general' });
    await em.flush();
    await (em as SqlEntityManager).execute(
      `insert into swl_loan (borrower_id, catalog_entry_id, status, request_date, created_at, updated_at) values (?, ?, 'pendiente', ?, ?, ?)`,
      dialect === 'sqlite' ? [u.id, entry.id, 1, 1, 1] : [u.id, entry.id, new Date(), new Date(), new Date()],
    );
  });

  /** Runs `run` on a fresh fork; it rejects with its database error as the services translate it. */
  const translated = (run: (em: SqlEntityManager) => Promise<unknown>) =>
    run(t.orm.em.fork() as SqlEntityManager).catch((error: unknown) => {
      throw toSwlError(error);
    });

  it('unique violation → DUPLICATE naming the constraint', async () => {
    const e = await expectSwlError(
      translated(async (em) => {
        em.create(User, { documentId: 'D-2', fullName: 'B', role: 'student', email: 'a@example.edu' });
        await em.flush();
      }),
      'DUPLICATE',
    );
    expect(String(e.details.constraint)).toMatch(/email/);
  });

  it('deleting a referenced row (restrict) → CONFLICT, not a raw driver error', async () => {
    const e = await expectSwlError(
      translated((em) => em.execute(`delete from swl_user where document_id = 'D-1'`)),
      'CONFLICT',
    );
    expect(e.cause).toBeDefined();
  });

  it('check violation → VALIDATION_FAILED', async () => {
    await expectSwlError(
      translated((em) => em.execute('update swl_catalog set replacement_cost = -1')),
      'VALIDATION_FAILED',
    );
  });

  it.runIf(dialect === 'postgresql')(
    'an exhausted id sequence (2200H) → CAPACITY_EXCEEDED naming the table; other integer overflows stay INTERNAL',
    async () => {
      const em = t.orm.em.fork() as SqlEntityManager;
      await em.execute(`select setval(pg_get_serial_sequence('swl_library_log', 'id'), 2147483647)`);
      const full = await expectSwlError(
        translated((x) => x.execute(`select nextval(pg_get_serial_sequence('swl_library_log', 'id'))`)),
        'CAPACITY_EXCEEDED',
      );
      expect(full.details).toEqual({ table: 'swl_library_log', maxId: 2147483647 });
      expect(full.retryable).toBe(false);
      // 22003 from arithmetic (int4pl) or from a quoted value too large for its column
      // (pg_strtoint32_safe) is not the id ceiling.
      for (const statement of [
        'update swl_catalog set replacement_cost = 1 where 2147483647::int + id::int > 0',
        `update swl_item_instance set sequence = '3000000000'`,
        `update swl_loan set renewal_count = '3000000000'`,
      ]) {
        const e = await expectSwlError(
          translated((x) => x.execute(statement)),
          'INTERNAL',
          statement,
        );
        expect((e.cause as { code?: string }).code, statement).toBe('22003');
      }
    },
  );

  it('a raw driver error from a query builder is converted like the unit of work’s; other errors are left alone', async () => {
    const em = t.orm.em.fork() as SqlEntityManager;
    let raw: unknown;
    try {
      await em
        .createQueryBuilder(User)
        .insert({
          documentId: 'D-1',
          fullName: 'Again',
          role: 'student',
          createdAt: new Date(),
          updatedAt: new Date(),
        })
        .execute('run');
    } catch (error) {
      raw = error;
    }
    expect(raw).toBeInstanceOf(Error);
    expect(toSwlError(convertDriverError(em, raw)).code).toBe('DUPLICATE');
    const socket = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(convertDriverError(em, socket)).toBe(socket);
    expect(toSwlError(convertDriverError(em, socket)).code).toBe('UNAVAILABLE');
  });

  it('a lock held by another transaction past the wait limit → CONFLICT (retryable)', async () => {
    const holder = t.orm.em.fork() as SqlEntityManager;
    const held = deferred();
    const locked = deferred();
    const holding = holder.transactional(async (em) => {
      await (em as SqlEntityManager).execute(`update swl_catalog set title_or_name = 'X'`);
      locked.resolve();
      await held.promise;
    });
    await locked.promise;
    try {
      const e = await expectSwlError(
        dialect === 'postgresql'
          ? translated((em) =>
              em.transactional(async (tx) => {
                await (tx as SqlEntityManager).execute(`set local lock_timeout = '100ms'`);
                await (tx as SqlEntityManager).execute(`update swl_catalog set title_or_name = 'Y'`);
              }),
            )
          : translated(async () => {
              // A second ORM (its own connection) on the same file, waiting at most 100 ms.
              const other = await MikroORM.init(await t.db.options({ sqlite: { busyTimeoutMs: 100 } }));
              try {
                await other.em.fork().transactional(async (tx) => {
                  await (tx as SqlEntityManager).execute(`update swl_catalog set title_or_name = 'Y'`);
                });
              } finally {
                await other.close(true);
              }
            }),
        'CONFLICT',
      );
      expect(e.retryable).toBe(true);
    } finally {
      held.resolve();
      await holding;
    }
  });
});

for (const driver of SWL_SQLITE_DRIVERS) {
  describe(`[sqlite · ${driver}] SwlSqliteDialect settings`, () => {
    const t = useTestOrm('sqlite', { sqlite: { driver } });

    it('uses WAL, a 5 s busy timeout, enforces foreign keys, and runs on the library it was given', async () => {
      const em = t.orm.em.fork() as SqlEntityManager;
      expect(await em.execute('pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await em.execute('pragma busy_timeout')).toEqual([{ timeout: 5000 }]);
      expect(await em.execute('pragma foreign_keys')).toEqual([{ foreign_keys: 1 }]);
      // The driver class: @mikro-orm/sqlite's for that library, @mikro-orm/sql's generic one otherwise.
      const expected =
        driver === '@mikro-orm/sqlite'
          ? (await import('@mikro-orm/sqlite')).SqliteDriver
          : (await import('@mikro-orm/sql')).SqliteDriver;
      expect(t.orm.config.get('driver')).toBe(expected);
    });

    it('starts write transactions with BEGIN IMMEDIATE: a second connection cannot take the write lock while one is open', async () => {
      const em = t.orm.em.fork() as SqlEntityManager;
      const other = openRawSqlite(t.db.file, driver);
      try {
        await em.transactional(async () => {
          // Nothing written yet: a deferred BEGIN would hold no lock here.
          expect(() => other.exec('begin immediate')).toThrow(/locked|busy/i);
        });
      } finally {
        other.close();
      }
    });
  });
}
