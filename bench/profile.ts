/**
 * `npm run bench:profile`: where the CPU time of one desk command, `LoanService.approve`, goes.
 *
 * On the lifecycle fixture of `lifecycle.ts` (20 k teachers, 20 k entries × 5 copies; more when
 * N needs them), pending requests are opened through the raw-SQL floor, one per borrower and
 * entry. Then, per dialect: 200 warm-up approvals each way; N approvals through `Floor.approve` and
 * N through `new LoanService(orm.em.fork()).approve(staff, { loanId })`, timed without the profiler
 * in alternating blocks of 100 (so background load hits both alike); and N more through the service
 * under the `node:inspector` CPU profiler (sampling every 100 µs, started just before that loop,
 * stopped after it).
 *
 * The profile's self time is summed per area of the sampled function's URL (and name): @mikro-orm/core
 * by file group, @mikro-orm/sql, kysely, pg, our SQLite dialect, zod, `src/**` by top folder, node
 * internals, GC, `(program)`, `(idle)`. Frames without a URL (V8 builtins, native bindings, the
 * hydrators and comparators MikroORM compiles with `new Function`) count for their nearest caller
 * that has one, except node:sqlite's statement methods, named apart (`node:sqlite native: run`).
 * On PostgreSQL the server works in another process: the wait for it is `(idle)`. Prints one
 * Markdown table per dialect.
 *
 *   npm run bench:profile -- [--out profile.json]
 *
 * Settings: `SWL_PROFILE_N` (default 2000), `SWL_PROFILE_DIALECTS` (`sqlite,postgresql`, default
 * both), `SWL_BENCH_POSTGRES_URL` or `SWL_TEST_POSTGRES_URL` (else an embedded PostgreSQL).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LoanService } from '../src/loans/loan.service.ts';
import { startEmbeddedPostgres } from '../test/support/embedded-postgres.ts';
import { COPIES_PER_ENTRY, FIRST_BORROWER_ID, loadBase, STAFF_ID, seedPolicies } from './lib/dataset.ts';
import { cleanUp, createScratchDb, onCleanUp, openBenchOrm, openRaw, type ScratchDb } from './lib/db.ts';
import { Floor } from './lib/floor.ts';

type Dialect = ScratchDb['dialect'];
type Actor = Parameters<LoanService['approve']>[0];
type ProfileNode = { id: number; callFrame: { functionName: string; url: string }; children?: number[] };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const WARMUP = 200;
const BLOCK = 100;
const SAMPLING_US = 100;

export interface AreaRow {
  area: string;
  selfMs: number;
  /** Share of the non-idle samples, % (null for `(idle)`). */
  pctNonIdle: number | null;
  usPerApproval: number;
}

export interface DialectProfile {
  dialect: Dialect;
  n: number;
  /** µs per approval, unprofiled: wall clock, and this process's CPU time (user + system). */
  serviceUs: { wall: number; cpu: number };
  floorUs: { wall: number; cpu: number };
  /** Wall-clock µs per approval of the profiled loop, and its non-idle samples per approval. */
  profiledUs: number;
  profiledCpuUs: number;
  areas: AreaRow[];
}

const PG_CLIENT = new Set(['pg', 'pg-protocol', 'pg-pool', 'pg-types', 'pg-connection-string', 'pg-int8']);

const SQLITE = 'src/sqlite.ts (our dialect)';
const CORE_UOW = 'core: UnitOfWork, ChangeSet*, IdentityMap, snapshots and diffs';
const CORE_HYDRATION = 'core: hydration, EntityFactory, result mapping';

/** The area of a sampled function; `null` when it takes its caller's area. */
function areaOf(functionName: string, url: string): string | null {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)')
      return functionName;
    return null;
  }
  if (url.startsWith('node:internal/process/task_queues')) return 'node: promises / microtask queue';
  if (/^node:(net|internal\/stream_base_commons|internal\/streams\/)/.test(url))
    return 'node: sockets, streams';
  if (url.startsWith('node:')) return 'node: other internals';
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf(`${sep}node_modules${sep}`);
  if (nm < 0) {
    const [top, sub] = relative(root, path).split(sep);
    if (top === 'src' && sub === 'sqlite.ts') return SQLITE;
    if (top === 'src' && sub) return sub.endsWith('.ts') ? `src/${sub}` : `src/${sub}/`;
    return top === 'bench' ? 'bench (the loop)' : `other: ${url}`;
  }
  const parts = path.slice(nm + 14).split(sep);
  const pkg = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '?');
  const file = parts.slice(pkg.split('/').length).join('/');
  if (pkg === '@mikro-orm/core') {
    // the hydrators and comparators MikroORM compiles count for the function that runs them
    if (file === 'utils/Utils.js' && functionName === 'callCompiledFunction') return null;
    if (file.startsWith('hydration/') || file === 'entity/EntityFactory.js') return CORE_HYDRATION;
    if (file === 'utils/EntityComparator.js' && functionName === 'mapResult') return CORE_HYDRATION;
    if (file.startsWith('unit-of-work/') || file === 'utils/EntityComparator.js') return CORE_UOW;
    if (file === 'EntityManager.js') return 'core: EntityManager';
    if (file.startsWith('entity/')) return 'core: entity helpers (EntityHelper, WrappedEntity, Reference, …)';
    if (file.startsWith('utils/')) return 'core: utils (Utils, QueryHelper, …)';
    return 'core: other (platform, connection, events, metadata, …)';
  }
  if (pkg === '@mikro-orm/sql')
    return file.startsWith('query/') ? 'sql: query builder' : 'sql: driver, other';
  if (PG_CLIENT.has(pkg) || pkg.startsWith('postgres-')) return 'pg + pg-protocol (PostgreSQL client)';
  return pkg;
}
/** Self time per area of a V8 CPU profile, ms. */
function selfTimeByArea(profile: {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const areas = new Map<number, string>();
  const areaOfNode = (id: number): string => {
    let area = areas.get(id);
    if (area === undefined) {
      const { functionName, url } = (byId.get(id) as ProfileNode).callFrame;
      const up = parent.get(id);
      area = areaOf(functionName, url) ?? (up === undefined ? 'native (no caller)' : areaOfNode(up));
      // node:sqlite's statements are native: name them apart from our dialect's JavaScript
      if (area === SQLITE && !url) area = `node:sqlite native: ${functionName}`;
      areas.set(id, area);
    }
    return area;
  };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const times: number[] = [];
  let t = 0;
  for (const delta of deltas) {
    t += delta;
    times.push(t);
  }
  const selfMs = new Map<string, number>();
  for (let i = 0; i < samples.length; i++) {
    // a sample lasts until the next one (the last until the profile's end), as DevTools counts it
    const next = i + 1 < samples.length ? (times[i + 1] as number) : profile.endTime - profile.startTime;
    const area = areaOfNode(samples[i] as number);
    selfMs.set(area, (selfMs.get(area) ?? 0) + (next - (times[i] as number)) / 1000);
  }
  return selfMs;
}

async function profileDialect(
  dialect: Dialect,
  n: number,
  postgresUrl: string | undefined,
): Promise<DialectProfile> {
  const needed = 3 * n + 2 * WARMUP;
  const size = Math.max(20_000, needed);
  const db = await createScratchDb(dialect, 'profile', postgresUrl);
  const orm = await openBenchOrm(db);
  await seedPolicies(orm);
  const raw = openRaw(db, 1);
  await loadBase(raw, {
    borrowers: size,
    teacherEvery: 1,
    entries: size,
    copiesPerEntry: COPIES_PER_ENTRY,
    premiumEvery: 0,
  });
  await raw.query('analyze');
  const floor = new Floor(raw);
  const staff: Actor = { id: STAFF_ID, role: 'staff' };
  const pending: number[] = [];
  for (let i = 0; i < needed; i++)
    pending.push(await floor.request({ id: FIRST_BORROWER_ID + i, role: 'teacher' }, i + 1));
  console.log(`  ${dialect}: ${size} teachers, ${size} entries × ${COPIES_PER_ENTRY}; ${needed} pending`);

  const viaService = async (loanId: number) => {
    await new LoanService(orm.em.fork()).approve(staff, { loanId });
  };
  const viaFloor = (loanId: number) => floor.approve(staff, loanId);
  /** Runs `count` approvals; returns wall-clock and process CPU (user + system) µs per approval. */
  const loop = async (count: number, approve: (loanId: number) => Promise<void>) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const loanId of pending.splice(0, count)) await approve(loanId);
    const { user, system } = process.cpuUsage(cpu);
    return { wall: ((performance.now() - started) * 1000) / count, cpu: (user + system) / count };
  };
  for (let i = 0; i < WARMUP; i++) {
    await viaFloor(pending.shift() as number);
    await viaService(pending.shift() as number);
  }
  const floorUs = { wall: 0, cpu: 0 };
  const serviceUs = { wall: 0, cpu: 0 };
  const add = (sum: typeof floorUs, part: typeof floorUs, share: number) => {
    sum.wall += part.wall * share;
    sum.cpu += part.cpu * share;
  };
  for (let done = 0; done < n; done += BLOCK) {
    const count = Math.min(BLOCK, n - done);
    add(floorUs, await loop(count, viaFloor), count / n);
    add(serviceUs, await loop(count, viaService), count / n);
  }

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_US });
  await session.post('Profiler.start');
  const profiledUs = (await loop(n, viaService)).wall;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();

  const selfMs = selfTimeByArea(profile);
  selfMs.delete('(root)');
  const busyMs = [...selfMs].reduce((sum, [area, ms]) => (area === '(idle)' ? sum : sum + ms), 0);
  const areas: AreaRow[] = [...selfMs]
    .map(([area, ms]) => ({
      area,
      selfMs: ms,
      pctNonIdle: area === '(idle)' ? null : (100 * ms) / busyMs,
      usPerApproval: (1000 * ms) / n,
    }))
    .sort((a, b) => (a.area === '(idle)' ? 1 : b.area === '(idle)' ? -1 : b.selfMs - a.selfMs));
  return { dialect, n, serviceUs, floorUs, profiledUs, profiledCpuUs: (1000 * busyMs) / n, areas };
}

const us = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(0)} / ${t.cpu.toFixed(0)}`;

function render(p: DialectProfile): string {
  const lines = [
    `### ${p.dialect}: ${p.n} × LoanService.approve`,
    '',
    `Unprofiled, µs per approval (wall clock / process CPU): service ${us(p.serviceUs)}, floor ${us(p.floorUs)}; ` +
      `service ÷ floor ${(p.serviceUs.wall / p.floorUs.wall).toFixed(2)} / ${(p.serviceUs.cpu / p.floorUs.cpu).toFixed(2)}. ` +
      `Profiled loop: ${p.profiledUs.toFixed(0)} µs per approval, ${p.profiledCpuUs.toFixed(0)} µs of it in non-idle samples.`,
    '',
    '| area | self ms | % of non-idle | µs per approval |',
    '|---|---:|---:|---:|',
  ];
  for (const row of p.areas)
    lines.push(
      `| ${row.area} | ${row.selfMs.toFixed(1)} | ${row.pctNonIdle === null ? '—' : row.pctNonIdle.toFixed(1)} | ${row.usPerApproval.toFixed(1)} |`,
    );
  lines.push(
    `| **non-idle total** | ${((p.profiledCpuUs * p.n) / 1000).toFixed(1)} | 100.0 | ${p.profiledCpuUs.toFixed(1)} |`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const n = Number(process.env.SWL_PROFILE_N ?? 2000);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`SWL_PROFILE_N must be a positive integer, got ${n}`);
  const dialects = (process.env.SWL_PROFILE_DIALECTS ?? 'sqlite,postgresql').split(',').map((s) => s.trim());
  for (const d of dialects)
    if (d !== 'sqlite' && d !== 'postgresql') throw new Error(`SWL_PROFILE_DIALECTS: unknown "${d}"`);
  let postgresUrl = process.env.SWL_BENCH_POSTGRES_URL || process.env.SWL_TEST_POSTGRES_URL || undefined;
  if (dialects.includes('postgresql') && !postgresUrl) {
    console.log('starting an embedded PostgreSQL…');
    const server = await startEmbeddedPostgres();
    onCleanUp(() => server.stop());
    postgresUrl = server.url;
  }
  const loadAvg = loadavg().map((x) => Number(x.toFixed(2)));
  console.log(`node ${process.version}, ${cpus().length} cores, load average ${loadAvg.join(' ')}; N = ${n}`);
  const results: DialectProfile[] = [];
  for (const dialect of dialects as Dialect[]) {
    const result = await profileDialect(dialect, n, postgresUrl);
    results.push(result);
    console.log(`\n${render(result)}\n`);
  }
  if (values.out) {
    const meta = { node: process.version, n, warmup: WARMUP, samplingIntervalUs: SAMPLING_US, loadAvg };
    writeFileSync(values.out, `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
    console.log(`written to ${values.out}`);
  }
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
