/**
 * The swl dump: a portable, dialect-neutral, versioned copy of every `swl_` table, written by
 * `swl export` (and by `swl backup` on PostgreSQL) and read by `swl import` / `swl restore`.
 *
 * One UTF-8 text file of JSON lines:
 *
 * 1. the manifest (one JSON object, {@link DumpManifest}): `format: "swl-dump"`,
 *    `formatVersion: 1`, the package and version that wrote it, when, from which dialect, the
 *    package migrations applied to the source (its migration level), and per table its columns
 *    (name and kind), row count and SHA-256 checksum;
 * 2. for each table of the manifest, in its order (parents before children): a marker line
 *    `{"table":"swl_user"}`, then one line per row, in id order: a JSON array of the row's
 *    values in the manifest's column order.
 *
 * Values are normalized so that the same data gives the same bytes from SQLite and PostgreSQL:
 * integers (ids, counts, money in minor units, versions) as JSON numbers; booleans as
 * `true`/`false`; instants as ISO 8601 UTC with milliseconds (`2026-03-02T13:00:00.000Z`); JSON
 * columns as JSON values with object keys sorted; text as strings; `null` for NULL.
 *
 * A table's checksum is the SHA-256 (hex) of its rows, each as `JSON.stringify(row) + "\n"` of
 * the normalized row. Columns that only mean something inside one database are not dumped: the
 * events' `tx_id` (a PostgreSQL transaction id, see src/outbox.ts) is written back as 0 on
 * PostgreSQL and NULL on SQLite.
 *
 * Source: issue 14.
 *
 * @module
 * @internal
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EntityMetadata, MikroORM } from '@mikro-orm/core';
import { z } from 'zod';
import { SwlError } from '../../errors.ts';
import { toInstant } from '../../kernel/db.ts';

/** The `format` of the manifest. */
export const DUMP_FORMAT = 'swl-dump';
/** The version of the format this code writes and reads. */
export const DUMP_FORMAT_VERSION = 1;

/** How a column's values are normalized. */
export type ColumnKind = 'integer' | 'boolean' | 'instant' | 'json' | 'text';

/** One dumped column. */
export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
}

/** One dumped table. */
export interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  /** Tables this one references (foreign keys), for the parent-first order. */
  parents: string[];
  /** Whether the table has the database-local `tx_id` column (written back as 0 / NULL). */
  hasTxId: boolean;
}

/** The manifest's entry of one table. */
export interface DumpTable {
  name: string;
  columns: ColumnSpec[];
  rows: number;
  sha256: string;
}

/** The first line of a dump. */
export interface DumpManifest {
  format: typeof DUMP_FORMAT;
  formatVersion: number;
  package: { name: string; version: string };
  createdAt: string;
  source: { dialect: 'sqlite' | 'postgresql' };
  /** How the rows were read: one read transaction (SQLite) or one repeatable-read snapshot (PostgreSQL). */
  snapshot: string;
  /** The package's migrations applied to the source, in order: the migration level. */
  migrations: string[];
  tables: DumpTable[];
}

const ManifestSchema = z.object({
  format: z.literal(DUMP_FORMAT),
  formatVersion: z.number().int(),
  package: z.object({ name: z.string(), version: z.string() }),
  createdAt: z.string(),
  source: z.object({ dialect: z.enum(['sqlite', 'postgresql']) }),
  snapshot: z.string(),
  migrations: z.array(z.string()),
  tables: z.array(
    z.object({
      name: z.string().regex(/^swl_[a-z0-9_]+$/),
      columns: z.array(
        z.object({
          name: z.string().regex(/^[a-z0-9_]+$/),
          kind: z.enum(['integer', 'boolean', 'instant', 'json', 'text']),
        }),
      ),
      rows: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

/** Columns never dumped: meaningful only inside the database that wrote them (see module comment). */
export const LOCAL_COLUMNS: ReadonlySet<string> = new Set(['tx_id']);

/** The migration table MikroORM keeps (its default `migrations.tableName`). */
export const MIGRATIONS_TABLE = 'mikro_orm_migrations';

/** Prefix of the package's migration names (`swlMigrations`). */
const SWL_MIGRATION = /^Swl/;

/** The package's migrations among `names` (a host's own are not part of the dump). */
export function packageMigrations(names: readonly string[]): string[] {
  return names.filter((n) => SWL_MIGRATION.test(n));
}

/**
 * The `swl_` tables of the entity metadata, parents before children, with their columns
 * (`tx_id` left out).
 */
export function tableSpecs(orm: MikroORM): TableSpec[] {
  const specs: TableSpec[] = [];
  for (const meta of orm.getMetadata().getAll().values() as Iterable<EntityMetadata>) {
    if (!meta.tableName?.startsWith('swl_') || meta.embeddable || meta.virtual) continue;
    const columns: ColumnSpec[] = [];
    const parents = new Set<string>();
    let hasTxId = false;
    for (const prop of meta.props) {
      if (prop.persist === false) continue;
      if (prop.kind !== 'scalar' && prop.kind !== 'm:1' && prop.kind !== '1:1') continue;
      if (prop.kind === '1:1' && !prop.owner) continue;
      const name = prop.fieldNames?.[0];
      if (name === 'tx_id') hasTxId = true;
      if (!name || LOCAL_COLUMNS.has(name)) continue;
      let kind: ColumnKind;
      if (prop.kind !== 'scalar') {
        kind = 'integer';
        const parent = prop.targetMeta?.tableName;
        if (parent && parent !== meta.tableName) parents.add(parent);
      } else if (prop.runtimeType === 'Date') kind = 'instant';
      else if (prop.runtimeType === 'boolean') kind = 'boolean';
      else if (prop.runtimeType === 'number' || prop.runtimeType === 'bigint') kind = 'integer';
      else if (String(prop.type).toLowerCase().includes('json')) kind = 'json';
      else kind = 'text';
      columns.push({ name, kind });
    }
    specs.push({ name: meta.tableName, columns, parents: [...parents], hasTxId });
  }
  return parentFirst(specs);
}

/** `specs` in an order where every table comes after the tables it references. */
function parentFirst(specs: TableSpec[]): TableSpec[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const done = new Set<string>();
  const out: TableSpec[] = [];
  const visit = (spec: TableSpec, path: Set<string>) => {
    if (done.has(spec.name)) return;
    if (path.has(spec.name))
      throw new SwlError('INTERNAL', 'foreign keys form a cycle', { table: spec.name });
    path.add(spec.name);
    for (const parent of [...spec.parents].sort()) {
      const p = byName.get(parent);
      if (p) visit(p, path);
    }
    path.delete(spec.name);
    done.add(spec.name);
    out.push(spec);
  };
  for (const spec of [...specs].sort((a, b) => (a.name < b.name ? -1 : 1))) visit(spec, new Set());
  return out;
}

/** A JSON value with object keys sorted (recursively). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

function bad(message: string, details: Record<string, unknown>): SwlError {
  return new SwlError('VALIDATION_FAILED', message, details);
}

/**
 * A value as the database returned it → its normalized form. `jsonAsText`: JSON columns come back
 * as their text (SQLite) rather than parsed (PostgreSQL `jsonb`, parsed by the driver).
 */
export function normalizeStored(
  kind: ColumnKind,
  value: unknown,
  where: Record<string, unknown>,
  jsonAsText = true,
): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case 'integer': {
      const n = typeof value === 'number' ? value : Number(String(value));
      if (!Number.isSafeInteger(n))
        throw new SwlError('INTERNAL', 'an integer column holds a value out of range', where);
      return n;
    }
    case 'boolean':
      return (
        value === true || value === 1 || value === '1' || value === 't' || value === 'true' || value === 1n
      );
    case 'instant': {
      const at = toInstant(value as Date | number | string);
      if (!at || Number.isNaN(at.getTime()))
        throw new SwlError('INTERNAL', 'an instant column holds an unreadable value', where);
      return at.toISOString();
    }
    case 'json':
      return sortKeys(jsonAsText && typeof value === 'string' ? JSON.parse(value) : value);
    case 'text':
      return typeof value === 'string' ? value : String(value);
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A value read from a dump → its normalized form, or a `VALIDATION_FAILED` naming the line. */
export function normalizeDumped(kind: ColumnKind, value: unknown, where: Record<string, unknown>): unknown {
  if (value === null) return null;
  const ok =
    (kind === 'integer' && Number.isSafeInteger(value)) ||
    (kind === 'boolean' && typeof value === 'boolean') ||
    (kind === 'instant' &&
      typeof value === 'string' &&
      ISO_INSTANT.test(value) &&
      !Number.isNaN(Date.parse(value))) ||
    (kind === 'text' && typeof value === 'string') ||
    kind === 'json';
  if (!ok)
    throw bad(`the dump has a value that is not ${kind === 'instant' ? 'an instant' : `a ${kind}`}`, where);
  return kind === 'json' ? sortKeys(value) : value;
}

/** A normalized value → the parameter that stores it on `dialect`. */
export function toParam(kind: ColumnKind, value: unknown, postgres: boolean): unknown {
  if (value === null) return null;
  switch (kind) {
    case 'boolean':
      return postgres ? value : value ? 1 : 0;
    case 'instant':
      return postgres ? new Date(value as string) : Date.parse(value as string);
    case 'json':
      return JSON.stringify(value);
    default:
      return value;
  }
}

/** Row count and checksum of one table, computed as rows go by. */
export class TableDigest {
  rows = 0;
  readonly #hash: Hash = createHash('sha256');

  /** Adds one normalized row; returns its line (without the newline). */
  add(row: unknown[]): string {
    const line = JSON.stringify(row);
    this.#hash.update(`${line}\n`);
    this.rows += 1;
    return line;
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

/** The installed package's name and version (its package.json above this file). */
export function packageInfo(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i += 1) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'swl-library') return { name: pkg.name, version: pkg.version ?? '0.0.0' };
    }
    dir = dirname(dir);
  }
  return { name: 'swl-library', version: '0.0.0' };
}

/** Reads the manifest (first line) of `file`; `VALIDATION_FAILED` when it is not a dump this swl reads. */
export async function readManifest(file: string): Promise<DumpManifest> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let first: string | undefined;
  for await (const line of lines) {
    first = line;
    break;
  }
  lines.close();
  return parseManifest(first, file);
}

function parseManifest(line: string | undefined, file: string): DumpManifest {
  let json: unknown;
  try {
    json = JSON.parse(line ?? '');
  } catch {
    throw bad('the file is not an swl dump (its first line is not a JSON manifest)', { file });
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw bad('the file is not an swl dump (its manifest is not valid)', {
      file,
      issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
    });
  }
  if (parsed.data.formatVersion !== DUMP_FORMAT_VERSION) {
    throw bad(
      `the dump has format version ${parsed.data.formatVersion}; this swl reads version ${DUMP_FORMAT_VERSION}`,
      {
        file,
        fix: 'use the swl version that wrote it, or a newer one',
      },
    );
  }
  return parsed.data as DumpManifest;
}

/**
 * Reads every row of the dump, table by table in the manifest's order, checking the structure,
 * each value against its column kind, and every table's row count and checksum against the
 * manifest. `onRows` gets each batch of normalized rows (omit it for a check only).
 * @throws SwlError `VALIDATION_FAILED` for a corrupt, truncated or changed file. A table's
 *   checksum is known only at its end, so `importDump` reads the whole file once without `onRows`
 *   before it writes anything.
 */
export async function readDump(
  file: string,
  onRows?: (table: DumpTable, rows: unknown[][]) => Promise<void>,
  batchSize = 500,
): Promise<DumpManifest> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let manifest: DumpManifest | undefined;
  let lineNo = 0;
  let index = -1;
  let table: DumpTable | undefined;
  let digest = new TableDigest();
  let batch: unknown[][] = [];
  const finishTable = async () => {
    if (!table) return;
    if (batch.length > 0 && onRows) await onRows(table, batch);
    batch = [];
    if (digest.rows !== table.rows || digest.digest() !== table.sha256) {
      throw bad(`the dump is corrupt or was changed: table ${table.name} does not match its checksum`, {
        file,
        table: table.name,
        expectedRows: table.rows,
        rows: digest.rows,
      });
    }
  };
  for await (const line of lines) {
    lineNo += 1;
    if (lineNo === 1) {
      manifest = parseManifest(line, file);
      continue;
    }
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw bad(`the dump is corrupt: line ${lineNo} is not JSON`, { file, line: lineNo });
    }
    if (!Array.isArray(value)) {
      const next = manifest?.tables[index + 1];
      if (!next || (value as { table?: unknown })?.table !== next.name) {
        throw bad(`the dump is corrupt: unexpected line ${lineNo}`, {
          file,
          line: lineNo,
          expected: next?.name ?? 'end of file',
        });
      }
      await finishTable();
      index += 1;
      table = next;
      digest = new TableDigest();
      continue;
    }
    if (!table)
      throw bad(`the dump is corrupt: row before any table at line ${lineNo}`, { file, line: lineNo });
    if (value.length !== table.columns.length) {
      throw bad(
        `the dump is corrupt: line ${lineNo} has ${value.length} values, table ${table.name} ${table.columns.length} columns`,
        {
          file,
          line: lineNo,
        },
      );
    }
    const row = table.columns.map((c, k) =>
      normalizeDumped(c.kind, value[k], { file, line: lineNo, table: table?.name, column: c.name }),
    );
    digest.add(row);
    batch.push(row);
    if (batch.length >= batchSize) {
      if (onRows) await onRows(table, batch);
      batch = [];
    }
  }
  if (!manifest) throw bad('the file is empty, not an swl dump', { file });
  await finishTable();
  if (index !== manifest.tables.length - 1) {
    throw bad('the dump is truncated: tables are missing at its end', {
      file,
      missing: manifest.tables.slice(index + 1).map((t) => t.name),
    });
  }
  return manifest;
}
