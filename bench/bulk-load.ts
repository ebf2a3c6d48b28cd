/**
 * Section 3 — bulk load: 100 calls of `CatalogService.createEntry` with 1 000 copies each (one
 * entry, 1 000 copies and their 1 000 `created` CopyEvents per call, in one transaction) against
 * the same rows written by hand: the actor check, one insert of the entry, one multi-row insert of
 * the copies (returning their ids), one multi-row insert of the events and the availability count,
 * in one transaction per call. Each implementation writes into its own, identical database.
 */
import type { SwlDialect } from '../migrations/index.ts';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { catalogSearchText, codePrefix, copyCode } from '../src/catalog/codes.ts';
import type { Actor } from '../src/permissions.ts';
import type { BenchConfig } from './lib/config.ts';
import { loadBase, STAFF_ID } from './lib/dataset.ts';
import { closeOrm, createScratchDb, openBenchOrm, openRaw, type RawDb } from './lib/db.ts';
import { type Measured, measurePaired } from './lib/measure.ts';

export interface BulkRow {
  dialect: SwlDialect;
  calls: number;
  copiesPerCall: number;
  service: Measured;
  raw: Measured;
  /** service ÷ raw mean time per call (median of rounds), and its range. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

const staff: Actor = { id: STAFF_ID, role: 'staff' };

/** One call's worth of rows, hand-written. */
async function rawCreateEntry(db: RawDb, title: string, copies: number): Promise<number> {
  const now = new Date();
  return db.transaction(async (tx) => {
    const actor = (
      await tx.query<{ role: string; active: unknown }>('select role, active from swl_user where id = ?', [
        staff.id,
      ])
    ).rows[0];
    if (!actor || actor.role !== staff.role) throw new Error('FORBIDDEN');
    const fields = { titleOrName: title, authorOrBrand: null, identifier: null };
    const entry = (
      await tx.query<{ id: number }>(
        `insert into swl_catalog (title_or_name, category, author_or_brand, identifier, replacement_cost, search_text, created_at, updated_at)
         values (?, 'general', null, null, 0, ?, ?, ?) returning id`,
        [title, catalogSearchText(fields), now, now],
      )
    ).rows[0] as { id: number };
    const entryId = Number(entry.id);
    const prefix = codePrefix(title);
    const copyRows: unknown[] = [];
    for (let sequence = 1; sequence <= copies; sequence++) {
      copyRows.push(entryId, sequence, copyCode(prefix, entryId, sequence), now, now);
    }
    const inserted = await tx.query<{ id: number; sequence: number }>(
      `insert into swl_item_instance (catalog_entry_id, sequence, code, status, condition, version, created_at, updated_at)
       values ${Array.from({ length: copies }, () => "(?, ?, ?, 'disponible', null, 1, ?, ?)").join(', ')}
       returning id, sequence`,
      copyRows,
    );
    const ids = inserted.rows
      .sort((a, b) => Number(a.sequence) - Number(b.sequence))
      .map((r) => Number(r.id));
    const eventRows: unknown[] = [];
    for (const id of ids) eventRows.push(id, staff.id, now);
    await tx.query(
      `insert into swl_instance_event (instance_id, type, from_status, to_status, loan_id, actor_id, at, note)
       values ${ids.map(() => "(?, 'created', null, 'disponible', null, ?, ?, null)").join(', ')}
       returning id`,
      eventRows,
    );
    await tx.query(
      'select catalog_entry_id, status, count(*) as copies from swl_item_instance where catalog_entry_id in (?) group by catalog_entry_id, status',
      [entryId],
    );
    return entryId;
  });
}

export async function runBulkLoad(
  config: BenchConfig,
  dialect: SwlDialect,
  postgresUrl: string | undefined,
  log: (line: string) => void,
): Promise<BulkRow> {
  const open = async (label: string) => {
    const db = await createScratchDb(dialect, label, postgresUrl);
    const orm = await openBenchOrm(db);
    const raw = openRaw(db, 1);
    await loadBase(raw, { borrowers: 10, teacherEvery: 1, entries: 0, copiesPerEntry: 1, premiumEvery: 0 });
    return { orm, raw };
  };
  const viaService = await open('bulk_service');
  const viaRaw = await open('bulk_raw');
  const per = config.bulkCopiesPerCall;
  let n = 0;
  const rounds = config.quick ? 1 : 4;
  const m = await measurePaired(
    { name: 'bulk raw', fn: () => rawCreateEntry(viaRaw.raw, `Lote ${++n}`, per) },
    {
      name: 'bulk service',
      fn: async () => {
        const r = await new CatalogService(viaService.orm.em.fork()).createEntry(staff, {
          titleOrName: `Lote ${++n}`,
          category: 'general',
          copies: per,
        });
        if (r.copies.length !== per) throw new Error('createEntry made the wrong number of copies');
      },
    },
    {
      name: `bulk ${dialect}`,
      timeMs: 0,
      iterations: config.bulkCalls,
      rounds,
      warmupTimeMs: 0,
      warmupIterations: 1,
    },
  );
  const count = async (raw: RawDb) =>
    Number((await raw.query<{ n: number }>('select count(*) as n from swl_item_instance')).rows[0]?.n);
  const counts = { service: await count(viaService.raw), raw: await count(viaRaw.raw) };
  const row: BulkRow = {
    dialect,
    calls: m.candidate.samples,
    copiesPerCall: per,
    service: m.candidate,
    raw: m.baseline,
    ratio: m.ratio,
    ratioMin: m.ratioMin,
    ratioMax: m.ratioMax,
  };
  log(
    `  createEntry × ${per} copies: service ${row.service.meanMs.toFixed(1)} ms/call ±${row.service.rmePct.toFixed(1)}% (${row.service.samples} calls) | raw ${row.raw.meanMs.toFixed(1)} ms/call ±${row.raw.rmePct.toFixed(1)}% (${row.raw.samples} calls) | ratio ${row.ratio.toFixed(2)} (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)}) | copies written: service ${counts.service}, raw ${counts.raw}`,
  );
  for (const side of [viaService, viaRaw]) {
    await closeOrm(side.orm);
    await side.raw.close();
  }
  return row;
}
