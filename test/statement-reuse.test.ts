/**
 * Statement reuse: PostgreSQL prepares a parameterized statement once per pooled connection
 * (`preparePostgresStatements`, installed by `swlOrmConfig`); the SQLite dialect keeps prepared
 * statements by text, least recently used first out. Source: `src/postgres.ts`, `src/sqlite.ts`.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { kyselyOf } from '../src/kernel/db.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { describeEachDialect, useDesk } from './support/fixtures.ts';

describeEachDialect('statement reuse', (dialect) => {
  // a fresh ORM (and pool) per test: the first test fills the per-connection caps on purpose
  const desk = useDesk(dialect, { per: 'test' });

  it('a statement sent again (and more than the cache holds) gives the same answers', async () => {
    const db = kyselyOf(desk.em());
    const ask = async (n: number) =>
      (
        await sql<{ v: number | string }>`select cast(${n} as integer) + cast(${n} as integer) as v`.execute(
          db,
        )
      ).rows[0]?.v;
    // 300 distinct texts (the SQLite cache keeps 256), then the first ones again after eviction
    const texts = Array.from({ length: 300 }, (_, k) => k);
    for (const k of texts) {
      expect(
        Number(
          (await sql<{ v: number | string }>`select cast(${k} as integer) + ${sql.lit(k)} as v`.execute(db))
            .rows[0]?.v,
        ),
      ).toBe(2 * k);
    }
    for (const k of [0, 1, 299]) {
      expect(
        Number(
          (await sql<{ v: number | string }>`select cast(${k} as integer) + ${sql.lit(k)} as v`.execute(db))
            .rows[0]?.v,
        ),
      ).toBe(2 * k);
    }
    expect(Number(await ask(21))).toBe(42);
    expect(Number(await ask(5))).toBe(10);
  });

  if (dialect === 'postgresql') {
    it('a parameterized statement is prepared on its connection, once, under a swl_ name', async () => {
      const staff = desk.staff;
      const seen = await desk.em().transactional(async (em) => {
        const loans = new LoanService(em, { clock: desk.clock });
        // the pipeline's acting-user read is a parameterized statement on this transaction's connection
        await loans.pendingQueue(staff, {});
        await loans.pendingQueue(staff, {});
        const rows = await sql<{ name: string; statement: string }>`
          select name, statement from pg_prepared_statements`.execute(kyselyOf(em));
        return rows.rows.filter((r) => r.name.startsWith('swl_'));
      });
      const actor = seen.filter((r) => /from "swl_user"/.test(r.statement));
      expect(actor).toHaveLength(1); // sent twice, prepared once
      expect(actor[0]?.name).toMatch(/^swl_\d+$/);
    });
  }
});
