/**
 * Section 2 — the desk's hot reads through the services on two datasets that differ only in the
 * length of their history (see `lib/dataset.ts`): 10 k and 1 M loans (× `SWL_BENCH_SCALE`), each
 * with 100 k copies and 50 k borrowers. Both databases are open at once and each query is measured
 * on both in alternating rounds; growth = mean latency on the big one ÷ on the small one.
 *
 * The SQL each read sends is captured (MikroORM `onQuery`) and explained: `EXPLAIN (ANALYZE)` on
 * PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { SwlDialect } from '../migrations/index.ts';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import type { Actor } from '../src/permissions.ts';
import { VisitorLogService } from '../src/visitors/visitor-log.service.ts';
import type { BenchConfig } from './lib/config.ts';
import { loadReadDataset, NOW, type ReadDataset, STAFF_ID, seedPolicies } from './lib/dataset.ts';
import { closeOrm, createScratchDb, openBenchOrm, openRaw, type RawDb } from './lib/db.ts';
import { type Measured, measurePaired } from './lib/measure.ts';
import { sqlitePlanLines } from './lib/report.ts';

const MS_DAY = 86_400_000;
/** The catalog search of the benchmark: two words, ~1 entry in 600 matches both. */
export const SEARCH_TEXT = 'calculo garcia';

export interface ReadQuery {
  key: string;
  label: string;
  run(orm: MikroORM, ds: ReadDataset): Promise<{ items: number; total: number }>;
}

const staff: Actor = { id: STAFF_ID, role: 'staff' };

export const READ_QUERIES: readonly ReadQuery[] = [
  {
    key: 'search',
    label: `catalog search "${SEARCH_TEXT}" with availability counts`,
    async run(orm) {
      const page = await new CatalogService(orm.em.fork()).search(staff, { text: SEARCH_TEXT });
      return { items: page.items.length, total: page.total };
    },
  },
  {
    key: 'borrower',
    label: "a borrower's active loans",
    async run(orm, ds) {
      const page = await new LoanService(orm.em.fork()).listBorrowerLoans(staff, {
        borrowerId: ds.borrowerId,
        scope: 'active',
      });
      return { items: page.items.length, total: page.total };
    },
  },
  {
    key: 'overdue',
    label: 'overdue list (first page, accrued fines)',
    async run(orm) {
      const page = await new LoanService(orm.em.fork()).overdueLoans(staff, { asOf: NOW });
      return { items: page.items.length, total: page.total };
    },
  },
  {
    key: 'pending',
    label: 'pending queue (first page)',
    async run(orm) {
      const page = await new LoanService(orm.em.fork()).pendingQueue(staff, {});
      return { items: page.items.length, total: page.total };
    },
  },
  {
    key: 'visits',
    label: 'visitor statistics for a month, by day',
    async run(orm) {
      const stats = await new VisitorLogService(orm.em.fork()).statistics(staff, {
        from: new Date(NOW.getTime() - 30 * MS_DAY),
        to: NOW,
        groupBy: 'day',
      });
      return { items: stats.rows.length, total: stats.total };
    },
  },
];

export interface PlanLine {
  sql: string;
  plan: string[];
}

export interface ReadRow {
  dialect: SwlDialect;
  key: string;
  label: string;
  small: Measured;
  big: Measured;
  /** big ÷ small mean latency (median of rounds), and its range. */
  growth: number;
  growthMin: number;
  growthMax: number;
  /** What the read returned on each dataset (page size / total matches). */
  result: { small: { items: number; total: number }; big: { items: number; total: number } };
  plans: { small: PlanLine[]; big: PlanLine[] };
}

export interface ReadDatasetInfo {
  dialect: SwlDialect;
  small: ReadDataset;
  big: ReadDataset;
}

interface Recorder {
  on: boolean;
  queries: { sql: string; params: readonly unknown[] }[];
}

async function explain(raw: RawDb, recorder: Recorder, run: () => Promise<unknown>): Promise<PlanLine[]> {
  recorder.queries = [];
  recorder.on = true;
  try {
    await run();
  } finally {
    recorder.on = false;
  }
  const plans: PlanLine[] = [];
  for (const q of recorder.queries) {
    if (!/^\s*select/i.test(q.sql)) continue;
    const prefix =
      raw.dialect === 'postgresql'
        ? 'explain (analyze, costs off, timing off, summary off) '
        : 'explain query plan ';
    const result = await raw.query<Record<string, unknown>>(prefix + q.sql, q.params);
    const plan =
      raw.dialect === 'postgresql'
        ? result.rows.map((r) => String(r['QUERY PLAN']))
        : sqlitePlanLines(result.rows);
    plans.push({ sql: q.sql, plan });
  }
  return plans;
}

async function openDataset(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  label: string,
  loans: number,
  log: (line: string) => void,
) {
  const recorder: Recorder = { on: false, queries: [] };
  const db = await createScratchDb(dialect, label, postgresUrl);
  const orm = await openBenchOrm(db, {
    onQuery: (sql: string, params: readonly unknown[]) => {
      if (recorder.on) recorder.queries.push({ sql, params: [...params] });
      return sql;
    },
  });
  await seedPolicies(orm);
  const raw = openRaw(db, 1);
  const ds = await loadReadDataset(raw, { loans, borrowers: config.borrowers, copies: config.copies });
  log(
    `  ${label}: ${loans.toLocaleString('en-US')} loans (${ds.history.toLocaleString('en-US')} history + ${(loans - ds.history).toLocaleString('en-US')} open), ${ds.visits.toLocaleString('en-US')} visits, ${config.copies.toLocaleString('en-US')} copies, ${config.borrowers.toLocaleString('en-US')} borrowers loaded + ANALYZE in ${ds.loadSeconds.toFixed(1)} s`,
  );
  return { orm, raw, ds, recorder };
}

export async function runHotReads(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  log: (line: string) => void,
): Promise<{ rows: ReadRow[]; info: ReadDatasetInfo }> {
  const small = await openDataset(config, dialect, postgresUrl, 'small', config.smallLoans, log);
  const big = await openDataset(config, dialect, postgresUrl, 'big', config.bigLoans, log);
  const rows: ReadRow[] = [];
  for (const q of READ_QUERIES) {
    const resultSmall = await q.run(small.orm, small.ds);
    const resultBig = await q.run(big.orm, big.ds);
    const m = await measurePaired(
      { name: `${q.key} small`, fn: () => q.run(small.orm, small.ds) },
      { name: `${q.key} big`, fn: () => q.run(big.orm, big.ds) },
      {
        name: `reads ${q.key} ${dialect}`,
        timeMs: config.taskTimeMs,
        iterations: config.taskIterations,
        rounds: config.rounds,
      },
    );
    const plans = {
      small: await explain(small.raw, small.recorder, () => q.run(small.orm, small.ds)),
      big: await explain(big.raw, big.recorder, () => q.run(big.orm, big.ds)),
    };
    const row: ReadRow = {
      dialect,
      key: q.key,
      label: q.label,
      small: m.baseline,
      big: m.candidate,
      growth: m.ratio,
      growthMin: m.ratioMin,
      growthMax: m.ratioMax,
      result: { small: resultSmall, big: resultBig },
      plans,
    };
    log(
      `  ${q.key.padEnd(9)} small ${row.small.meanMs.toFixed(3)} ms ±${row.small.rmePct.toFixed(1)}% | big ${row.big.meanMs.toFixed(3)} ms ±${row.big.rmePct.toFixed(1)}% | growth ${row.growth.toFixed(2)} (${row.growthMin.toFixed(2)}–${row.growthMax.toFixed(2)}) | result ${resultSmall.items}/${resultSmall.total} vs ${resultBig.items}/${resultBig.total}`,
    );
    rows.push(row);
  }
  await closeOrm(small.orm);
  await closeOrm(big.orm);
  await small.raw.close();
  await big.raw.close();
  return { rows, info: { dialect, small: small.ds, big: big.ds } };
}
