/**
 * Benchmark settings, from environment variables (see BENCHMARKS.md "Reproducing").
 *
 * - `SWL_BENCH_QUICK=1`: small data, short tasks; checks the harness in about two minutes.
 * - `SWL_BENCH_SCALE`: multiplies the dataset sizes (default 1: 1 M loans, 100 k copies, 50 k
 *   borrowers; quick mode 0.01). The small read dataset is always 1/100 of the big one.
 * - `SWL_BENCH_POSTGRES_URL`: a PostgreSQL server URL whose user may create databases; otherwise an
 *   embedded PostgreSQL is started for the run and stopped afterwards.
 * - `SWL_BENCH_DIALECTS`: `sqlite,postgresql` (default both).
 * - `SWL_BENCH_SECTIONS`: `lifecycle,reads,bulk,contention,reservations,notices` (default all).
 *   `notices` uses the read datasets' sizes (10 k and 1 M loans × scale) with 3 000 due loans × scale.
 * - `SWL_BENCH_TIME`: time budget per measured task, ms (default 6000, quick 400); paired tasks
 *   split it over alternating rounds (6, quick 2).
 * - `SWL_BENCH_JSON`: write the raw results as JSON to this file.
 */
import type { SwlDialect } from '../../migrations/index.ts';

export const SECTIONS = ['lifecycle', 'reads', 'bulk', 'contention', 'reservations', 'notices'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchConfig {
  quick: boolean;
  scale: number;
  dialects: SwlDialect[];
  sections: Section[];
  /** tinybench time budget per task, ms. */
  taskTimeMs: number;
  /** tinybench minimum iterations per task. */
  taskIterations: number;
  /** Paired comparisons (service vs baseline) run in this many alternating rounds. */
  rounds: number;
  /** Big read dataset: loans (and visits). */
  bigLoans: number;
  /** Small read dataset: loans (and visits). */
  smallLoans: number;
  /** Copies in the read datasets (fixed across both scales). */
  copies: number;
  /** Borrowers in the read datasets (fixed across both scales). */
  borrowers: number;
  /** Bulk load: calls × copies per call. */
  bulkCalls: number;
  bulkCopiesPerCall: number;
  /** Contention: seconds per run (1 worker, 8 workers). */
  contentionSeconds: number;
  contentionWorkers: number;
  postgresUrl: string | undefined;
  jsonOut: string | undefined;
}

function list<T extends string>(value: string | undefined, allowed: readonly T[], name: string): T[] {
  if (!value?.trim()) return [...allowed];
  const items = value.split(',').map((s) => s.trim()) as T[];
  for (const item of items) {
    if (!allowed.includes(item))
      throw new Error(`${name}: unknown value "${item}" (allowed: ${allowed.join(', ')})`);
  }
  return items;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
  return n;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.SWL_BENCH_QUICK === '1' || env.SWL_BENCH_QUICK === 'true';
  const scale = positive(env.SWL_BENCH_SCALE, 'SWL_BENCH_SCALE') ?? (quick ? 0.01 : 1);
  const bigLoans = Math.max(1000, Math.round(1_000_000 * scale));
  return {
    quick,
    scale,
    dialects: list(env.SWL_BENCH_DIALECTS, ['sqlite', 'postgresql'] as const, 'SWL_BENCH_DIALECTS'),
    sections: list(env.SWL_BENCH_SECTIONS, SECTIONS, 'SWL_BENCH_SECTIONS'),
    taskTimeMs: positive(env.SWL_BENCH_TIME, 'SWL_BENCH_TIME') ?? (quick ? 400 : 6000),
    taskIterations: quick ? 10 : 64,
    rounds: quick ? 2 : 6,
    bigLoans,
    smallLoans: Math.max(10, Math.round(bigLoans / 100)),
    copies: Math.max(1000, Math.round(100_000 * scale)),
    borrowers: Math.max(500, Math.round(50_000 * scale)),
    bulkCalls: quick ? 5 : 100,
    bulkCopiesPerCall: 1000,
    contentionSeconds: quick ? 2 : 20,
    contentionWorkers: 8,
    postgresUrl: env.SWL_BENCH_POSTGRES_URL?.trim() || undefined,
    jsonOut: env.SWL_BENCH_JSON?.trim() || undefined,
  };
}
