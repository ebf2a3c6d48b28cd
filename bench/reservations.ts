/**
 * Section 5 — reservations (issue 16): `ReservationService.reserve` (a booking of an entry that
 * succeeds) and `ReservationService.availability` (a 7-day range), each against a raw-SQL floor in
 * the same run, on two datasets that differ only in the number of existing reservations: 10 k and
 * 1 M (× `SWL_BENCH_SCALE`).
 *
 * The floor is the least SQL the command needs, on the same driver as the other floors
 * (`lib/db.ts` `openRaw`): for `reserve` one transaction with the stock-timeline select (the
 * statement of `src/reservations/availability.ts`, copied) and one insert `returning id`; for
 * `availability` the timeline select alone. It skips the entry lock, the borrower/policy reads,
 * the event rows, validation and the capability checks the service does.
 *
 * The datasets model a desk whose booking history grows while its present does not: the same
 * 1 000 premium entries × 5 copies and 2 000 teachers at both sizes, the same 5 000 holding
 * bookings (`solicitada`/`confirmada`) over the next 28 days, and a history of past bookings
 * (`recogida` 70 %, `cancelada` 20 %, `no_recogida` 10 %) at 500 a day before that — 10 days at
 * 10 k, 5.4 years at 1 M. Loaded with set-based SQL, then `ANALYZE`.
 *
 * Growth = mean latency on the big dataset ÷ on the small one (paired rounds), for the service and
 * for the floor. The stock-timeline statement is explained on both datasets: `EXPLAIN (ANALYZE)`
 * on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite.
 */
import type { MikroORM } from '@mikro-orm/core';
import type { SwlDialect } from '../migrations/index.ts';
import type { Clock } from '../src/clock.ts';
import { ReservationPolicy } from '../src/entities/reservation-policy.entity.ts';
import type { Actor } from '../src/permissions.ts';
import { DEFAULT_RESERVATION_POLICIES } from '../src/reservations/defaults.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import type { BenchConfig } from './lib/config.ts';
import { FIRST_BORROWER_ID, loadBase, NOW, STAFF_ID, seedPolicies, ts, withSeries } from './lib/dataset.ts';
import { closeOrm, createScratchDb, openBenchOrm, openRaw, type RawDb, type RawSql } from './lib/db.ts';
import { type Measured, measurePaired } from './lib/measure.ts';
import { oneLine, pm, range, short, sqlitePlanLines } from './lib/report.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** As `src/reservations/availability.ts`: an overdue loan's end on SQLite. */
const FOREVER_MS = 8_640_000_000_000_000;
/** Buffer of the default premium booking policies (`DEFAULT_RESERVATION_POLICIES`). */
const BUFFER_MINUTES = 15;
const PICKUP_WINDOW_MINUTES = 30;

/** Fixed at both sizes. */
const ENTRIES = 1_000;
const COPIES_PER_ENTRY = 5;
const BORROWERS = 2_000;
/** Holding bookings over the next 28 days (capped at half the small dataset). */
const FUTURE_BOOKINGS = 5_000;
/** Past bookings per day in the history. */
const HISTORY_DAILY_RATE = 500;
/** The availability read's range. */
const AVAILABILITY_DAYS = 7;

export interface ReservationDatasetInfo {
  dialect: SwlDialect;
  label: 'small' | 'big';
  reservations: number;
  future: number;
  history: number;
  historyDays: number;
  loadSeconds: number;
}

export interface ReservationRatioRow {
  dialect: SwlDialect;
  op: 'reserve' | 'availability';
  dataset: 'small' | 'big';
  reservations: number;
  service: Measured;
  floor: Measured;
  /** service ÷ floor mean latency (median of rounds) and range. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

export interface ReservationGrowthRow {
  dialect: SwlDialect;
  op: 'reserve' | 'availability';
  impl: 'service' | 'floor';
  small: Measured;
  big: Measured;
  /** big ÷ small mean latency (median of rounds) and range. */
  growth: number;
  growthMin: number;
  growthMax: number;
}

export interface ReservationPlan {
  dialect: SwlDialect;
  op: 'reserve' | 'availability';
  dataset: 'small' | 'big';
  sql: string;
  plan: string[];
}

export interface ReservationsResult {
  dialect: SwlDialect;
  datasets: ReservationDatasetInfo[];
  ratios: ReservationRatioRow[];
  growth: ReservationGrowthRow[];
  plans: ReservationPlan[];
}

export const RESERVATION_GROWTH_TARGET = 1.5;

// ---------------------------------------------------------------------------------------------
// Dataset

const RESERVATION_COLUMNS = `id, borrower_id, catalog_entry_id, instance_id, quantity, starts_at, ends_at, blocks_until,
  buffer_minutes, pickup_deadline, status, environment, note, requested_by_id, confirmed_at, confirmed_by_id,
  cancelled_at, cancelled_by_id, cancel_reason, picked_up_at, picked_up_by_id, loan_ids, no_show_at, version,
  created_at, updated_at`;

async function loadReservationDataset(
  raw: RawDb,
  orm: MikroORM,
  reservations: number,
): Promise<Omit<ReservationDatasetInfo, 'dialect' | 'label'>> {
  const started = performance.now();
  await seedPolicies(orm);
  const em = orm.em.fork();
  for (const p of DEFAULT_RESERVATION_POLICIES) em.create(ReservationPolicy, { ...p });
  await em.flush();
  await loadBase(raw, {
    borrowers: BORROWERS,
    teacherEvery: 1,
    entries: ENTRIES,
    copiesPerEntry: COPIES_PER_ENTRY,
    premiumEvery: 1,
  });
  const future = Math.min(FUTURE_BOOKINGS, Math.floor(reservations / 2));
  const history = reservations - future;
  const now = NOW.getTime();
  const B0 = FIRST_BORROWER_ID;
  const buffer = BUFFER_MINUTES * MINUTE;
  const pickup = PICKUP_WINDOW_MINUTES * MINUTE;
  await raw.transaction(async (tx) => {
    if (history > 0) {
      // k = 1..history, oldest first, the last one starting a day before now; entry k mod ENTRIES;
      // 1..8 hours long; 70 % picked up, 20 % cancelled the day before, 10 % no-shows.
      const step = Math.round(DAY / HISTORY_DAILY_RATE);
      const start = `(${now - DAY} - (${history} - k) * ${step})`;
      const end = `(${start} + (1 + k % 8) * ${HOUR})`;
      const kind = 'k % 10';
      const status = `case when ${kind} < 7 then 'recogida' when ${kind} < 9 then 'cancelada' else 'no_recogida' end`;
      const confirmed = `${kind} < 7 or ${kind} = 9`;
      await tx.query(
        `insert into swl_reservation (${RESERVATION_COLUMNS})
         ${withSeries(tx)}
         select k, ${B0} + (k * 7919) % ${BORROWERS}, 1 + k % ${ENTRIES}, null, 1,
           ${ts(tx, start)}, ${ts(tx, end)}, ${ts(tx, `${end} + ${buffer}`)}, ${BUFFER_MINUTES},
           ${ts(tx, `${start} + ${pickup}`)}, ${status}, null, null, ${B0} + (k * 7919) % ${BORROWERS},
           case when ${confirmed} then ${ts(tx, `${start} - ${2 * DAY}`)} else null end,
           case when ${confirmed} then ${STAFF_ID} else null end,
           case when ${kind} in (7, 8) then ${ts(tx, `${start} - ${DAY}`)} else null end,
           case when ${kind} in (7, 8) then ${B0} + (k * 7919) % ${BORROWERS} else null end,
           case when ${kind} in (7, 8) then 'plans changed' else null end,
           case when ${kind} < 7 then ${ts(tx, `${start} + ${10 * MINUTE}`)} else null end,
           case when ${kind} < 7 then ${STAFF_ID} else null end,
           null,
           case when ${kind} = 9 then ${ts(tx, `${start} + ${pickup}`)} else null end,
           case when ${kind} < 9 and ${kind} >= 7 then 2 else 3 end,
           ${ts(tx, `${start} - ${3 * DAY}`)}, ${ts(tx, `${start} + ${pickup}`)}
         from s`,
        [history],
      );
    }
    if (future > 0) {
      // k = 1..future: entry 1 + (k − 1) mod ENTRIES, its j-th booking (j = (k − 1) / ENTRIES)
      // in its own slot `spacing` apart (no two of an entry overlap), 2..6 hours long; every
      // third `solicitada`, the others `confirmada`.
      const perEntry = Math.ceil(future / ENTRIES);
      const spacing = Math.floor((28 * DAY) / perEntry);
      const start = `(${now + 2 * HOUR} + ((k - 1) / ${ENTRIES}) * ${spacing} + (k % 5) * ${HOUR})`;
      const end = `(${start} + (2 + k % 5) * ${HOUR})`;
      const confirmed = 'k % 3 <> 0';
      await tx.query(
        `insert into swl_reservation (${RESERVATION_COLUMNS})
         ${withSeries(tx)}
         select ${history} + k, ${B0} + (k * 13) % ${BORROWERS}, 1 + (k - 1) % ${ENTRIES}, null, 1,
           ${ts(tx, start)}, ${ts(tx, end)}, ${ts(tx, `${end} + ${buffer}`)}, ${BUFFER_MINUTES},
           ${ts(tx, `${start} + ${pickup}`)},
           case when ${confirmed} then 'confirmada' else 'solicitada' end, null, null, ${B0} + (k * 13) % ${BORROWERS},
           case when ${confirmed} then ${ts(tx, `${now} - ${DAY}`)} else null end,
           case when ${confirmed} then ${STAFF_ID} else null end,
           null, null, null, null, null, null, null,
           case when ${confirmed} then 2 else 1 end,
           ${ts(tx, `${now} - ${2 * DAY}`)}, ${ts(tx, `${now} - ${DAY}`)}
         from s`,
        [future],
      );
    }
  });
  if (raw.dialect === 'postgresql') {
    await raw.query(
      `select setval(pg_get_serial_sequence('swl_reservation', 'id'), coalesce((select max(id) from swl_reservation), 0) + 1, false)`,
    );
  }
  await raw.query('analyze');
  return {
    reservations,
    future,
    history,
    historyDays: history / HISTORY_DAILY_RATE,
    loadSeconds: (performance.now() - started) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// The floor: the stock-timeline statement of src/reservations/availability.ts, by hand

interface Timeline {
  capacity: number;
  peak: number;
}

function timelineSql(dialect: SwlDialect): string {
  const pg = dialect === 'postgresql';
  const loanEnd = pg
    ? `case when l.due_date < ? then 'infinity'::timestamptz else l.due_date + make_interval(mins => coalesce(p.buffer_minutes, 0)) end`
    : 'case when l.due_date < ? then ? else l.due_date + coalesce(p.buffer_minutes, 0) * 60000 end';
  return `
    with w as (
      select r.starts_at as s, r.blocks_until as e, r.quantity as n
        from swl_reservation r
       where r.catalog_entry_id = ? and r.status in ('solicitada', 'confirmada') and r.id <> ?
         and r.starts_at < ? and r.blocks_until > ?
      union all
      select l.approval_date as s, ${loanEnd} as e, 1 as n
        from swl_loan l
        join swl_user u on u.id = l.borrower_id
        join swl_catalog c on c.id = l.catalog_entry_id
        left join swl_reservation_policy p on p.category = c.category and p.role = u.role
       where l.catalog_entry_id = ? and l.status = 'aprobado' and l.id <> ?
    ),
    v as (select s, e, n from w where e > ? and s < ?),
    t as (
      select ${pg ? '?::timestamptz' : '?'} as at
      union select s from v where s > ?
      union select e from v where e < ?
    )
    select t.at,
           (select coalesce(sum(v.n), 0) from v where v.s <= t.at and v.e > t.at) as booked,
           (select count(*) from swl_item_instance i
             where i.catalog_entry_id = ? and i.status in ('disponible', 'prestado')) as capacity
      from t
     order by t.at`;
}

async function floorTimeline(
  raw: RawSql,
  sqlText: string,
  entry: number,
  from: Date,
  to: Date,
  now: Date,
): Promise<Timeline> {
  const loanEnd = raw.dialect === 'postgresql' ? [now] : [now, FOREVER_MS];
  const { rows } = await raw.query<{ booked: number | string; capacity: number | string }>(sqlText, [
    entry,
    0,
    to,
    from,
    ...loanEnd,
    entry,
    0,
    from,
    to,
    from,
    from,
    to,
    entry,
  ]);
  return {
    capacity: Number(rows[0]?.capacity ?? 0),
    peak: rows.reduce((m, r) => Math.max(m, Number(r.booked)), 0),
  };
}

const INSERT_SQL = `insert into swl_reservation (borrower_id, catalog_entry_id, instance_id, quantity, starts_at, ends_at,
    blocks_until, buffer_minutes, pickup_deadline, status, environment, note, requested_by_id, version, created_at, updated_at)
  values (?, ?, null, 1, ?, ?, ?, ?, ?, 'solicitada', null, null, ?, 1, ?, ?) returning id`;

// ---------------------------------------------------------------------------------------------
// Measuring

interface OpenDataset {
  label: 'small' | 'big';
  orm: MikroORM;
  raw: RawDb;
  info: ReservationDatasetInfo;
  /** Next booking slot (shared by service and floor on this database). */
  counter: number;
  /** Next availability entry. */
  readCounter: number;
}

const fixedClock: Clock = { now: () => new Date(NOW.getTime()) };

/** A booking no other booking of this run overlaps: entry round-robin, 2-hour slots from tomorrow. */
function nextBooking(ds: OpenDataset) {
  const c = ds.counter++;
  const entry = 1 + (c % ENTRIES);
  const slot = Math.floor(c / ENTRIES) % 300;
  const startsAt = new Date(NOW.getTime() + DAY + slot * 2 * HOUR);
  return {
    borrower: FIRST_BORROWER_ID + (c % BORROWERS),
    entry,
    startsAt,
    endsAt: new Date(startsAt.getTime() + HOUR),
  };
}

function nextRange(ds: OpenDataset) {
  const c = ds.readCounter++;
  const from = new Date(NOW.getTime() + (c % 14) * DAY);
  return { entry: 1 + ((c * 7) % ENTRIES), from, to: new Date(from.getTime() + AVAILABILITY_DAYS * DAY) };
}

const teacher = (id: number): Actor => ({ id, role: 'teacher' });
const staff: Actor = { id: STAFF_ID, role: 'staff' };

function operations(ds: OpenDataset) {
  const timeline = timelineSql(ds.raw.dialect);
  return {
    reserve: {
      async service() {
        const b = nextBooking(ds);
        const view = await new ReservationService(ds.orm.em.fork(), { clock: fixedClock }).reserve(
          teacher(b.borrower),
          { catalogEntryId: b.entry, startsAt: b.startsAt, endsAt: b.endsAt },
        );
        if (view.status !== 'solicitada') throw new Error(`unexpected status ${view.status}`);
      },
      async floor() {
        const b = nextBooking(ds);
        const blocksUntil = new Date(b.endsAt.getTime() + BUFFER_MINUTES * MINUTE);
        await ds.raw.transaction(async (tx) => {
          const t = await floorTimeline(tx, timeline, b.entry, b.startsAt, blocksUntil, NOW);
          if (t.peak + 1 > t.capacity) throw new Error('floor: the range is booked');
          await tx.query(INSERT_SQL, [
            b.borrower,
            b.entry,
            b.startsAt,
            b.endsAt,
            blocksUntil,
            BUFFER_MINUTES,
            new Date(b.startsAt.getTime() + PICKUP_WINDOW_MINUTES * MINUTE),
            b.borrower,
            NOW,
            NOW,
          ]);
        });
      },
    },
    availability: {
      async service() {
        const r = nextRange(ds);
        await new ReservationService(ds.orm.em.fork(), { clock: fixedClock }).availability(staff, {
          catalogEntryId: r.entry,
          from: r.from,
          to: r.to,
        });
      },
      async floor() {
        const r = nextRange(ds);
        await floorTimeline(ds.raw, timeline, r.entry, r.from, r.to, NOW);
      },
    },
  };
}

/**
 * The plan of the stock-timeline statement, the one statement of both commands whose work depends
 * on the reservations table (the service's Kysely statements do not pass MikroORM's `onQuery`, so
 * the floor's copy of it is explained, with the parameters of the command's range).
 */
async function explainTimeline(
  ds: OpenDataset,
  op: 'reserve' | 'availability',
  entry: number,
  from: Date,
  to: Date,
): Promise<ReservationPlan> {
  const text = timelineSql(ds.raw.dialect);
  const prefix =
    ds.raw.dialect === 'postgresql'
      ? 'explain (analyze, costs off, timing off, summary off) '
      : 'explain query plan ';
  const loanEnd = ds.raw.dialect === 'postgresql' ? [NOW] : [NOW, FOREVER_MS];
  const result = await ds.raw.query<Record<string, unknown>>(prefix + text, [
    entry,
    0,
    to,
    from,
    ...loanEnd,
    entry,
    0,
    from,
    to,
    from,
    from,
    to,
    entry,
  ]);
  const plan =
    ds.raw.dialect === 'postgresql'
      ? result.rows.map((r) => String(r['QUERY PLAN']))
      : sqlitePlanLines(result.rows);
  return { dialect: ds.raw.dialect, op, dataset: ds.label, sql: text, plan };
}

async function openDataset(
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  label: 'small' | 'big',
  reservations: number,
  log: (line: string) => void,
): Promise<OpenDataset> {
  const db = await createScratchDb(dialect, `resv_${label}`, postgresUrl);
  const orm = await openBenchOrm(db);
  const raw = openRaw(db, 1);
  const loaded = await loadReservationDataset(raw, orm, reservations);
  const info: ReservationDatasetInfo = { dialect, label, ...loaded };
  log(
    `  ${label}: ${reservations.toLocaleString('en-US')} reservations (${info.history.toLocaleString('en-US')} past over ${info.historyDays.toFixed(0)} days + ${info.future.toLocaleString('en-US')} holding in the next 28 days), ${ENTRIES} entries × ${COPIES_PER_ENTRY} copies, ${BORROWERS} teachers; loaded + ANALYZE in ${info.loadSeconds.toFixed(1)} s`,
  );
  return { label, orm, raw, info, counter: 0, readCounter: 0 };
}

export async function runReservations(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  log: (line: string) => void,
): Promise<ReservationsResult> {
  const small = await openDataset(dialect, postgresUrl, 'small', config.smallLoans, log);
  const big = await openDataset(dialect, postgresUrl, 'big', config.bigLoans, log);
  const opts = (name: string) => ({
    name,
    timeMs: config.taskTimeMs,
    iterations: config.taskIterations,
    rounds: config.rounds,
  });
  const result: ReservationsResult = {
    dialect,
    datasets: [small.info, big.info],
    ratios: [],
    growth: [],
    plans: [],
  };
  const ops = ['reserve', 'availability'] as const;
  for (const ds of [small, big]) {
    const o = operations(ds);
    for (const op of ops) {
      const m = await measurePaired(
        { name: `${op} floor`, fn: () => o[op].floor() },
        { name: `${op} service`, fn: () => o[op].service() },
        opts(`reservations ${op} ${ds.label} ${dialect}`),
      );
      const row: ReservationRatioRow = {
        dialect,
        op,
        dataset: ds.label,
        reservations: ds.info.reservations,
        service: m.candidate,
        floor: m.baseline,
        ratio: m.ratio,
        ratioMin: m.ratioMin,
        ratioMax: m.ratioMax,
      };
      log(
        `  ${op.padEnd(12)} ${ds.label.padEnd(5)} service ${row.service.meanMs.toFixed(3)} ms ±${row.service.rmePct.toFixed(1)}% | floor ${row.floor.meanMs.toFixed(3)} ms ±${row.floor.rmePct.toFixed(1)}% | ratio ${row.ratio.toFixed(2)} (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)})`,
      );
      result.ratios.push(row);
    }
  }
  const os = operations(small);
  const ob = operations(big);
  for (const op of ops) {
    for (const impl of ['service', 'floor'] as const) {
      const m = await measurePaired(
        { name: `${op} ${impl} small`, fn: () => os[op][impl]() },
        { name: `${op} ${impl} big`, fn: () => ob[op][impl]() },
        opts(`reservations growth ${op} ${impl} ${dialect}`),
      );
      const row: ReservationGrowthRow = {
        dialect,
        op,
        impl,
        small: m.baseline,
        big: m.candidate,
        growth: m.ratio,
        growthMin: m.ratioMin,
        growthMax: m.ratioMax,
      };
      log(
        `  growth ${op.padEnd(12)} ${impl.padEnd(7)} small ${row.small.meanMs.toFixed(3)} ms | big ${row.big.meanMs.toFixed(3)} ms | growth ${row.growth.toFixed(2)} (${row.growthMin.toFixed(2)}–${row.growthMax.toFixed(2)})`,
      );
      result.growth.push(row);
    }
  }
  for (const ds of [small, big]) {
    const b = nextBooking(ds);
    const blocksUntil = new Date(b.endsAt.getTime() + BUFFER_MINUTES * MINUTE);
    result.plans.push(await explainTimeline(ds, 'reserve', b.entry, b.startsAt, blocksUntil));
    const r = nextRange(ds);
    result.plans.push(await explainTimeline(ds, 'availability', r.entry, r.from, r.to));
  }
  for (const ds of [small, big]) {
    await closeOrm(ds.orm);
    await ds.raw.close();
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

/** Markdown for the section, appended to the report of `npm run bench`. */
export function renderReservations(results: readonly ReservationsResult[]): string {
  if (results.length === 0) return '';
  const out: string[] = ['## 5. Reservations: reserve and availability vs raw SQL, and growth', ''];
  for (const r of results) {
    for (const d of r.datasets) {
      out.push(
        `- ${r.dialect} ${d.label}: ${short(d.reservations)} reservations (${d.history.toLocaleString('en-US')} past over ${d.historyDays.toFixed(0)} days, ${d.future.toLocaleString('en-US')} holding), ${ENTRIES} entries × ${COPIES_PER_ENTRY} copies; load + ANALYZE ${d.loadSeconds.toFixed(1)} s`,
      );
    }
  }
  out.push('');
  out.push(
    '| database | command | reservations | service mean ms | floor mean ms | service ÷ floor (median of rounds; range) |',
  );
  out.push('|---|---|---|---|---|---|');
  for (const r of results) {
    for (const row of r.ratios) {
      out.push(
        `| ${row.dialect} | ${row.op} | ${short(row.reservations)} | ${row.service.meanMs.toFixed(2)} ${pm(row.service.rmePct)} | ${row.floor.meanMs.toFixed(2)} ${pm(row.floor.rmePct)} | **${row.ratio.toFixed(2)}** (${range(row.ratioMin, row.ratioMax)}) |`,
      );
    }
  }
  out.push('');
  out.push(
    '| database | command | side | small: mean ms | big: mean ms | growth big ÷ small (range) | target | |',
  );
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const g of r.growth) {
      const ok = g.growth <= RESERVATION_GROWTH_TARGET;
      out.push(
        `| ${g.dialect} | ${g.op} | ${g.impl} | ${g.small.meanMs.toFixed(2)} ${pm(g.small.rmePct)} | ${g.big.meanMs.toFixed(2)} ${pm(g.big.rmePct)} | **${g.growth.toFixed(2)}** (${range(g.growthMin, g.growthMax)}) | ≤ ${RESERVATION_GROWTH_TARGET} | ${ok ? 'met' : '**missed**'} |`,
      );
    }
  }
  out.push('');
  out.push('### Query plans of the reservation commands (big dataset)', '');
  for (const r of results) {
    for (const p of r.plans.filter((x) => x.dataset === 'big')) {
      out.push(`#### ${p.dialect}: ${p.op}`, '', '```', oneLine(p.sql), ...p.plan, '```', '');
    }
  }
  return out.join('\n');
}
