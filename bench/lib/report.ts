/**
 * Markdown tables of a run, printed at the end of `npm run bench` (BENCHMARKS.md quotes them).
 */
import type { BulkRow } from '../bulk-load.ts';
import type { ContentionResult } from '../contention.ts';
import type { ReadDatasetInfo, ReadRow } from '../hot-reads.ts';
import type { LifecycleRow } from '../lifecycle.ts';
import type { BenchConfig } from './config.ts';
import { fmt } from './measure.ts';

export interface Environment {
  startedAt: string;
  command: string;
  cpus: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  sqlite: string | null;
  postgres: string | null;
  postgresSource: string | null;
  packages: Record<string, string>;
}

export interface BenchResults {
  environment: Environment;
  config: BenchConfig;
  lifecycle: LifecycleRow[];
  reads: ReadRow[];
  readDatasets: ReadDatasetInfo[];
  bulk: BulkRow[];
  contention: ContentionResult | null;
  durations: Record<string, number>;
}

const LIFECYCLE_TARGET = { postgresql: 1.1, sqlite: 1.5 } as const; // issue 12
export const READ_GROWTH_TARGET = 3;
export const BULK_TARGET = 3;
export const SPEEDUP_TARGET = 3;

/** A relative margin of error, `±4.2%`. */
export const pm = (rme: number) => `±${rme.toFixed(1)}%`;
/** A range of ratios, `0.95–1.06`. */
export const range = (lo: number, hi: number, digits = 2) => `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

/** SQLite `EXPLAIN QUERY PLAN` rows as lines, each indented by its ancestors' count. */
export function sqlitePlanLines(rows: Record<string, unknown>[]): string[] {
  const depthOf = (row: Record<string, unknown>) => {
    let depth = 0;
    let parent = Number(row.parent);
    while (parent !== 0) {
      const up = rows.find((r) => Number(r.id) === parent);
      if (!up) break;
      depth++;
      parent = Number(up.parent);
    }
    return depth;
  };
  return rows.map((r) => `${'  '.repeat(depthOf(r))}${String(r.detail)}`);
}

/** `1000000` → `1M`, `10000` → `10k`, else with thousands separators. */
export function short(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return n.toLocaleString('en-US');
}

export function renderReport(r: BenchResults): string {
  const out: string[] = [];
  const e = r.environment;
  out.push('## Environment', '');
  out.push(`- when: ${e.startedAt}; command: \`${e.command}\``);
  out.push(`- machine: ${e.cores} cores (${e.cpus}), ${e.memoryGiB.toFixed(1)} GiB memory, ${e.os}`);
  out.push(
    `- node ${e.node}; SQLite ${e.sqlite ?? 'n/a'} (node:sqlite); PostgreSQL ${e.postgres ?? 'n/a'} (${e.postgresSource ?? 'n/a'})`,
  );
  out.push(
    `- packages: ${Object.entries(e.packages)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push(
    `- settings: quick=${r.config.quick}, scale=${r.config.scale}, time per measured task ${r.config.taskTimeMs} ms in ${r.config.rounds} alternating rounds, min ${r.config.taskIterations} iterations`,
  );
  out.push(
    `- section wall-clock: ${Object.entries(r.durations)
      .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
      .join(', ')}`,
    '',
  );

  if (r.lifecycle.length > 0) {
    out.push('## 1. Lifecycle: LoanService vs hand-written SQL floor', '');
    out.push(
      '| database | command | service ops/s | floor ops/s | service ÷ floor (median of rounds; range) | target | |',
    );
    out.push('|---|---|---|---|---|---|---|');
    for (const row of r.lifecycle) {
      const target = LIFECYCLE_TARGET[row.dialect];
      out.push(
        `| ${row.dialect} | ${row.command} | ${fmt(row.service.opsPerSec)} ${pm(row.service.rmePct)} (${row.service.meanMs.toFixed(2)} ms) | ${fmt(row.floor.opsPerSec)} ${pm(row.floor.rmePct)} (${row.floor.meanMs.toFixed(2)} ms) | **${row.ratio.toFixed(2)}** (${range(row.ratioMin, row.ratioMax)}) | ≤ ${target} | ${verdict(row.ratio <= target)} |`,
      );
    }
    out.push('');
  }

  if (r.bulk.length > 0) {
    out.push('## 3. Bulk load: CatalogService.createEntry vs raw multi-row inserts', '');
    out.push(
      '| database | calls × copies | service ms/call | raw ms/call | service copies/s | raw copies/s | service ÷ raw (range) | target | |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const b of r.bulk) {
      out.push(
        `| ${b.dialect} | ${b.calls} × ${b.copiesPerCall} | ${b.service.meanMs.toFixed(1)} ${pm(b.service.rmePct)} | ${b.raw.meanMs.toFixed(1)} ${pm(b.raw.rmePct)} | ${fmt((b.copiesPerCall * 1000) / b.service.meanMs)} | ${fmt((b.copiesPerCall * 1000) / b.raw.meanMs)} | **${b.ratio.toFixed(2)}** (${range(b.ratioMin, b.ratioMax)}) | ≤ ${BULK_TARGET} | ${verdict(b.ratio <= BULK_TARGET)} |`,
      );
    }
    out.push('');
  }

  if (r.reads.length > 0) {
    out.push('## 2. Hot reads: growth from the small to the big history', '');
    for (const d of r.readDatasets) {
      out.push(
        `- ${d.dialect}: small = ${short(d.small.spec.loans)} loans, big = ${short(d.big.spec.loans)} loans; both ${short(d.big.spec.copies)} copies, ${short(d.big.spec.borrowers)} borrowers, ${d.big.open.approved + d.big.open.overdue} open approved loans (${d.big.open.overdue} overdue), ${d.big.open.pending} pending, visits = loans; load + ANALYZE ${d.small.loadSeconds.toFixed(1)} s and ${d.big.loadSeconds.toFixed(1)} s`,
      );
    }
    out.push('');
    out.push(
      '| database | read | small: mean ms | big: mean ms | growth big ÷ small (range) | rows / total (small; big) | target | |',
    );
    out.push('|---|---|---|---|---|---|---|---|');
    for (const row of r.reads) {
      out.push(
        `| ${row.dialect} | ${row.label} | ${row.small.meanMs.toFixed(2)} ${pm(row.small.rmePct)} | ${row.big.meanMs.toFixed(2)} ${pm(row.big.rmePct)} | **${row.growth.toFixed(2)}** (${range(row.growthMin, row.growthMax)}) | ${row.result.small.items}/${row.result.small.total}; ${row.result.big.items}/${row.result.big.total} | ≤ ${READ_GROWTH_TARGET} | ${verdict(row.growth <= READ_GROWTH_TARGET)} |`,
      );
    }
    out.push('');
  }

  if (r.contention) {
    const c = r.contention;
    out.push('## 4. Contention on PostgreSQL (approve + return, one fork per command)', '');
    out.push(
      `spread: ${c.spreadTitles} titles × ${c.copiesPerTitle} copies, title-level requests; hot: ${c.hotTitles} titles × ${c.copiesPerTitle} copies, every other request naming a copy; ${c.requestsPerScenario.toLocaleString('en-US')} pending requests per scenario.`,
      '',
    );
    out.push(
      '| scenario | workers | commands/s | approvals | returns | seconds | re-queued (no free copy) | conflicts | node CPU (cores) | machine CPU busy (cores) |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const run of c.runs) {
      out.push(
        `| ${run.scenario} | ${run.workers} | ${run.commandsPerSec.toFixed(0)} | ${run.approvals} | ${run.returns} | ${run.seconds.toFixed(1)} | ${run.unavailable} | ${run.conflicts} | ${run.nodeCpu.toFixed(2)} | ${run.machineCpu.toFixed(2)} |`,
      );
    }
    out.push('');
    for (const scenario of ['spread', 'hot'] as const) {
      out.push(
        `- speed-up ${scenario}, ${c.runs.at(-1)?.workers} workers ÷ 1 worker: **${c.speedup[scenario].toFixed(2)}** (target ≥ ${SPEEDUP_TARGET}: ${verdict(c.speedup[scenario] >= SPEEDUP_TARGET)})`,
      );
    }
    out.push('');
    out.push('| audit check | expected | actual | |');
    out.push('|---|---|---|---|');
    for (const a of c.audit)
      out.push(`| ${a.check} | ${a.expected} | ${a.actual} | ${a.ok ? 'ok' : '**FAIL**'} |`);
    out.push('');
  }

  const withPlans = r.reads.filter((row) => row.plans.big.length > 0);
  if (withPlans.length > 0) {
    out.push('## Query plans of the hot reads (big dataset)', '');
    for (const row of withPlans) {
      out.push(`### ${row.dialect}: ${row.label}`, '');
      for (const p of row.plans.big) {
        out.push('```', oneLine(p.sql), ...p.plan, '```');
      }
      out.push('');
    }
  }
  return out.join('\n');
}

/** A statement on one line, cut at 400 characters, for a report. */
export function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 400 ? `${flat.slice(0, 397)}...` : flat;
}
