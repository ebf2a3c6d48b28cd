/**
 * `npm run bench`: what the package costs per desk operation, and how it grows.
 *
 * 1. lifecycle: LoanService request/approve/return vs a hand-written raw-SQL floor;
 * 2. hot reads at 10 k and 1 M loans, with query plans;
 * 3. bulk load through CatalogService vs raw multi-row inserts;
 * 4. contention: 1 vs 8 workers approving and returning on PostgreSQL, then an audit in SQL;
 * 5. reservations: ReservationService reserve/availability vs a raw-SQL floor, at 10 k and 1 M
 *    reservations;
 * 6. notices: NoticeService claim of everything due (3 k due loans) at 10 k and 1 M loans, against
 *    a raw indexed select, with the claim's query plans.
 *
 * On a SQLite file (node:sqlite, the package's `SwlSqliteDialect`) and on PostgreSQL
 * (`SWL_BENCH_POSTGRES_URL`, else an embedded server started here). Settings: `lib/config.ts`.
 * Prints progress, then a Markdown report; everything created (databases, temp files, the
 * embedded server) is removed before exit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../test/support/embedded-postgres.ts';
import { type BulkRow, runBulkLoad } from './bulk-load.ts';
import { type ContentionResult, runContention } from './contention.ts';
import { type ReadDatasetInfo, type ReadRow, runHotReads } from './hot-reads.ts';
import { readConfig } from './lib/config.ts';
import { cleanUp, onCleanUp } from './lib/db.ts';
import { type BenchResults, type Environment, renderReport } from './lib/report.ts';
import { type LifecycleRow, runLifecycle } from './lifecycle.ts';
import { type NoticesResult, renderNotices, runNotices } from './notices.ts';
import { type ReservationsResult, renderReservations, runReservations } from './reservations.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line: string) => console.log(line);

function version(pkg: string): string {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function sqliteVersion(): string {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
  const db = new DatabaseSync(':memory:');
  try {
    return String((db.prepare('select sqlite_version() as v').get() as { v: string }).v);
  } finally {
    db.close();
  }
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return String((await client.query('show server_version')).rows[0].server_version);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const started = performance.now();
  const usesPostgres = config.dialects.includes('postgresql');
  let postgresUrl = config.postgresUrl;
  let postgresSource: string | null = null;
  if (usesPostgres && !postgresUrl) {
    log('starting an embedded PostgreSQL…');
    const server = await startEmbeddedPostgres();
    onCleanUp(() => server.stop());
    postgresUrl = server.url;
    postgresSource = `embedded-postgres ${version('embedded-postgres')}, fsync=off`;
  } else if (usesPostgres) {
    postgresSource = 'SWL_BENCH_POSTGRES_URL';
  }
  const cpuList = cpus();
  const environment: Environment = {
    startedAt: new Date().toISOString(),
    command: [
      config.quick ? 'SWL_BENCH_QUICK=1' : '',
      process.env.SWL_BENCH_SCALE ? `SWL_BENCH_SCALE=${process.env.SWL_BENCH_SCALE}` : '',
      process.env.SWL_BENCH_SECTIONS ? `SWL_BENCH_SECTIONS=${process.env.SWL_BENCH_SECTIONS}` : '',
      process.env.SWL_BENCH_DIALECTS ? `SWL_BENCH_DIALECTS=${process.env.SWL_BENCH_DIALECTS}` : '',
      process.env.SWL_BENCH_TIME ? `SWL_BENCH_TIME=${process.env.SWL_BENCH_TIME}` : '',
      'npm run bench',
    ]
      .filter(Boolean)
      .join(' '),
    cpus: cpuList[0]?.model ?? '?',
    cores: cpuList.length,
    memoryGiB: totalmem() / 2 ** 30,
    os: `${platform()} ${release()}`,
    node: process.version,
    sqlite: config.dialects.includes('sqlite') ? sqliteVersion() : null,
    postgres: postgresUrl && usesPostgres ? await postgresVersion(postgresUrl) : null,
    postgresSource,
    packages: Object.fromEntries(
      ['@mikro-orm/core', '@mikro-orm/sql', '@mikro-orm/postgresql', 'kysely', 'pg', 'tinybench'].map((p) => [
        p,
        version(p),
      ]),
    ),
  };
  log(
    `swl-library benchmarks — node ${environment.node}, SQLite ${environment.sqlite ?? '-'}, PostgreSQL ${environment.postgres ?? '-'}, ${environment.cores} cores; quick=${config.quick}, scale=${config.scale}`,
  );

  const lifecycle: LifecycleRow[] = [];
  const reads: ReadRow[] = [];
  const readDatasets: ReadDatasetInfo[] = [];
  const bulk: BulkRow[] = [];
  let contention: ContentionResult | null = null;
  const reservations: ReservationsResult[] = [];
  const notices: NoticesResult[] = [];
  const durations: Record<string, number> = {};
  const timed = async (name: string, body: () => Promise<void>) => {
    log(`\n== ${name}`);
    const t = performance.now();
    await body();
    durations[name] = (performance.now() - t) / 1000;
    log(`   (${durations[name]?.toFixed(0)} s)`);
  };

  for (const dialect of config.dialects) {
    if (config.sections.includes('lifecycle')) {
      await timed(`lifecycle ${dialect}`, async () => {
        lifecycle.push(...(await runLifecycle(config, dialect, postgresUrl, log)));
      });
    }
    if (config.sections.includes('bulk')) {
      await timed(`bulk ${dialect}`, async () => {
        bulk.push(await runBulkLoad(config, dialect, postgresUrl, log));
      });
    }
    if (config.sections.includes('reads')) {
      await timed(`reads ${dialect}`, async () => {
        const r = await runHotReads(config, dialect, postgresUrl, log);
        reads.push(...r.rows);
        readDatasets.push(r.info);
      });
    }
    if (config.sections.includes('reservations')) {
      await timed(`reservations ${dialect}`, async () => {
        reservations.push(await runReservations(config, dialect, postgresUrl, log));
      });
    }
    if (config.sections.includes('notices')) {
      await timed(`notices ${dialect}`, async () => {
        notices.push(await runNotices(config, dialect, postgresUrl, log));
      });
    }
  }
  if (config.sections.includes('contention') && usesPostgres) {
    await timed('contention postgresql', async () => {
      contention = await runContention(config, postgresUrl, log);
    });
  }
  durations.total = (performance.now() - started) / 1000;

  const results: BenchResults = {
    environment,
    config: { ...config, postgresUrl: config.postgresUrl ? '(set)' : undefined },
    lifecycle,
    reads,
    readDatasets,
    bulk,
    contention,
    durations,
  };
  log(`\n${renderReport(results)}`);
  if (reservations.length > 0) log(renderReservations(reservations));
  if (notices.length > 0) log(renderNotices(notices));
  if (config.jsonOut) {
    writeFileSync(config.jsonOut, `${JSON.stringify({ ...results, reservations, notices }, null, 2)}\n`);
    log(`results written to ${config.jsonOut}`);
  }
  const failedAudit = (contention as ContentionResult | null)?.audit.some((a) => !a.ok) ?? false;
  if (failedAudit) {
    console.error('the contention audit found inconsistencies (see above)');
    process.exitCode = 1;
  }
  if (notices.some((n) => !n.plansOk)) {
    console.error('a notice claim plan is not index-bound on swl_loan (see above)');
    process.exitCode = 1;
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: cleaning up…`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
process.exit(process.exitCode ?? 0);
