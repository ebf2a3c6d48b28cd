/**
 * `importSwlFlaskDatabase`: moves the database of the original SWL Flask application onto the
 * package. Source: issue 15; `docs/legacy/000_266b31aaf8610e4d.txt` (the original models).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { catalogSearchText, codePrefix, copyCode, prefixOfCode } from '../catalog/codes.ts';
import { isPostgres } from '../db/dialect.ts';
import {
  CATEGORIES,
  type Category,
  COPY_STATUSES,
  type CopyEventType,
  type CopyStatus,
  LOAN_STATUSES,
  type LoanStatus,
  type PenaltySettlement,
  ROLES,
  type Role,
  VISITOR_ROLES,
  type VisitorRole,
} from '../domain/vocabulary.ts';
import { CatalogEntry } from '../entities/catalog-entry.entity.ts';
import { CopyEvent } from '../entities/copy-event.entity.ts';
import { Hold } from '../entities/hold.entity.ts';
import { IdempotencyKey } from '../entities/idempotency-key.entity.ts';
import { ItemInstance } from '../entities/item-instance.entity.ts';
import { LibraryLog } from '../entities/library-log.entity.ts';
import { Loan } from '../entities/loan.entity.ts';
import { LoanEvent } from '../entities/loan-event.entity.ts';
import { Reservation } from '../entities/reservation.entity.ts';
import { User } from '../entities/user.entity.ts';
import { toSwlError } from '../internal/translate-error.ts';
import { DEFAULT_ADMIN, DEFAULT_INVENTORY } from '../seeding/defaults.ts';
import { werkzeugPasswordVerifier } from '../users/password.ts';
import {
  FLASK_TABLES,
  type FlaskInstanceRow,
  type FlaskLoanRow,
  type FlaskTables,
  isPostgresUrl,
  readFlaskPostgres,
  readFlaskSqlite,
  redactUrl,
} from './source.ts';

/**
 * The marker of everything the import writes: `data.importedFrom` of each reconstructed loan event
 * and `note` of each copy event (the event tables have no "source" column; no schema change).
 */
export const FLASK_IMPORT_MARKER = 'swl-flask';

/** How the source's `final_penalty` amounts are settled on the imported loans. */
export type FlaskPenaltyTreatment = 'unpaid' | PenaltySettlement;

/** Options of {@link importSwlFlaskDatabase}. */
export interface FlaskImportOptions {
  /** Read, check and report everything; write nothing. */
  dryRun?: boolean;
  /**
   * Source role spellings mapped onto the package's roles, e.g. `{ estudiante: 'student' }`
   * (applied to `user.role` and `library_log.role`; a log row may also map to `visitor`).
   */
  mapRole?: Readonly<Record<string, string>>;
  /** Source category spellings mapped onto the package's categories, e.g. `{ libros: 'general' }`. */
  mapCategory?: Readonly<Record<string, string>>;
  /**
   * Source status spellings mapped onto the package's loan or copy statuses, e.g.
   * `{ en_reparacion: 'mantenimiento', prestada: 'aprobado' }` (applied to `loan.status` and
   * `item_instance.status`; the mapped value must be a status of that table).
   */
  mapStatus?: Readonly<Record<string, string>>;
  /**
   * Add the source's rows to a target that already has desk data (see "Merge" at
   * {@link importSwlFlaskDatabase}): ids assigned by the target and reported as a mapping; users
   * matched by document id, catalog entries by title, author/brand and category. Default false:
   * a target with desk data is refused.
   */
  merge?: boolean;
  /**
   * Under `merge`: give a source copy whose code a target copy already has the package's next
   * code of its entry (`XXX-{entryId}-{n}`), listed in `merge.recoded` (relabel those copies).
   * Default false: such a clash is a conflict and the import is refused.
   */
  recodeClashes?: boolean;
  /**
   * Apply the repair policy (see {@link importSwlFlaskDatabase}) to inconsistent rows instead of
   * stopping. Default false: any inconsistency stops the import, with the report.
   */
  repair?: boolean;
  /**
   * What the imported penalties are: `unpaid` (default — nothing is recorded as settled that the
   * source does not say was; staff settle or waive them later), `paid` or `waived` (each loan with
   * a penalty gets `penaltySettlement`, settled at its return date, and a `penalty_settled` event).
   */
  penalties?: FlaskPenaltyTreatment;
  /** Called as rows are written: `done` of `total` rows. */
  onProgress?: (done: number, total: number) => void;
  /** The instant of the reconstructed copy-status events (default now). */
  now?: Date;
}

/** One source value outside the package's vocabulary, with how many rows hold it. */
export interface FlaskVocabularyIssue {
  table: string;
  column: string;
  value: string;
  count: number;
}

/** Kinds of inconsistent source rows. */
export type FlaskInconsistencyKind =
  | 'status-case'
  | 'loan-without-user'
  | 'loan-without-copy'
  | 'copy-without-catalog'
  | 'loan-dates'
  | 'negative-penalty'
  | 'two-approved-loans-on-copy'
  | 'approved-loan-on-free-copy'
  | 'prestado-copy-without-loan';

/** One inconsistent source row, and what the repair policy does (did, unless stopped) with it. */
export interface FlaskInconsistency {
  kind: FlaskInconsistencyKind;
  table: string;
  id: number;
  message: string;
  /** What the repair policy does with the row. */
  repair: string;
}

/** One source penalty whose conversion to minor units was not exact. */
export interface FlaskInexactPenalty {
  loanId: number;
  /** The source's float, as its shortest decimal text. */
  source: string;
  /** The stored amount, minor units. */
  minorUnits: number;
}

/** What {@link importSwlFlaskDatabase} found and did. */
export interface FlaskImportReport {
  /**
   * `imported`: written (one transaction); `dry-run`: checked, nothing written; `already-imported`:
   * the target already holds this source's rows, nothing written; `refused`: stopped, nothing
   * written (see `refusal`).
   */
  outcome: 'imported' | 'dry-run' | 'already-imported' | 'refused';
  /** Why the import was refused (vocabulary, inconsistencies, a target with desk data). */
  refusal: string[];
  source: {
    kind: 'sqlite' | 'postgresql';
    /** The file, or the URL without its password. */
    location: string;
    rows: Record<(typeof FLASK_TABLES)[number], number>;
    /**
     * SHA-256 of the source's rows (the five tables, as read): stored in each imported loan's
     * `requested` event (`data.sourceDigest`), so a second import of the same source is recognized.
     */
    digest: string;
  };
  /** Rows written (or, in a dry run, that would be) per target table. */
  written: {
    users: number;
    catalogEntries: number;
    copies: number;
    loans: number;
    loanEvents: number;
    copyEvents: number;
    visits: number;
  };
  unknownVocabulary: FlaskVocabularyIssue[];
  inconsistencies: FlaskInconsistency[];
  /** Source rows not imported, with the reason (only under `repair`). */
  skipped: { table: string; id: number; reason: FlaskInconsistencyKind; row: Record<string, unknown> }[];
  money: {
    rule: string;
    converted: number;
    inexact: FlaskInexactPenalty[];
    penalties: FlaskPenaltyTreatment;
    loansWithPenalty: number;
  };
  passwords: {
    /** Users whose hash is a Werkzeug `scrypt:`/`pbkdf2:` hash (verified at sign-in, then upgraded). */
    werkzeug: number;
    /** Users without a password: they sign in only after a reset. */
    withoutPassword: { id: number; documentId: string }[];
    /** Users whose hash no verifier of the package knows: they sign in only after a reset. */
    unknownScheme: { id: number; documentId: string }[];
  };
  /** The source's default admin, when its password still verifies as the original seed's default (`run.py`): must change it. */
  defaultAdminPassword: { id: number; documentId: string } | null;
  /** Loans marked `rechazado` take their request date as rejection date (the source keeps none). */
  rejectionDateFromRequest: number;
  /** Source instants with digits below the millisecond (dropped; the text is kept in the events). */
  subMillisecondDates: number;
  /** Rows of the package's own seed removed from the target because the source replaces them. */
  replacedSeed: { users: number; catalogEntries: number; copies: number; copyEvents: number };
  /** Under `merge`: how the source's rows map onto the target's; null when ids are kept. */
  merge: FlaskMergeReport | null;
}

/** The source tables whose ids a merge maps onto the target's. */
export type FlaskMergedTable = 'user' | 'catalog' | 'item_instance' | 'loan' | 'library_log';

/** What a merge (`merge: true`) found in the target and did with the source's rows. */
export interface FlaskMergeReport {
  /**
   * Source id → target id, per source table, as `[sourceId, targetId]` pairs in source id order.
   * Matched users and entries are there from the dry run on; rows written get theirs when the
   * import commits (a dry run lists only the matched ones).
   */
  ids: Record<FlaskMergedTable, [number, number][]>;
  /** Source users that are already target users (same document id): not written; their loans and visits go to the target user, whose data stays as it is. */
  matchedUsers: { sourceId: number; targetId: number; documentId: string }[];
  /** Source catalog entries that are already target entries (same title, author/brand and category): not written; their copies join the target entry. */
  matchedEntries: { sourceId: number; targetId: number; titleOrName: string }[];
  /** Source copies given a new code (`recodeClashes`): `to` is null in a dry run (it needs the target entry's id). */
  recoded: { sourceId: number; from: string; to: string | null }[];
  /** Source rows that cannot join the target as they are (a code or an email the target already has for something else); any stops the import. */
  conflicts: { table: string; id: number; message: string }[];
}

/** The original `run.py`'s default admin password (spelled in parts: no default password ships as a literal). */
const ORIGINAL_DEFAULT_PASSWORD = ['admin', '123'].join('');

const MONEY_RULE =
  'pesos × 100 → centavos: the float’s shortest decimal text cut at the second decimal, rounded half up on the third; exact when nothing beyond the second decimal';

/**
 * Converts a Flask `final_penalty` (pesos, a float) to centavos (integer minor units): the
 * float's shortest decimal text (`String(value)`) cut at the second decimal, rounded half up on the
 * third. `exact` is false when anything followed the second decimal; `text` is that decimal text.
 * Source: issue 15; docs/legacy/000_266b31aaf8610e4d.txt (`final_penalty = db.Column(db.Float, default=0.0)`).
 */
export function penaltyToMinorUnits(value: number): { minorUnits: number; exact: boolean; text: string } {
  const text = String(value);
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) {
    // Exponent notation (< 1e-6 or ≥ 1e21): no decimal text to cut; round the product.
    const minor = Math.round(value * 100);
    return { minorUnits: minor, exact: minor / 100 === value, text };
  }
  const frac = m[2] ?? '';
  const kept = frac.slice(0, 2).padEnd(2, '0');
  const rest = frac.slice(2);
  let minor = BigInt(m[1] as string) * 100n + BigInt(kept);
  if (rest.length > 0 && (rest[0] as string) >= '5') minor += 1n;
  return { minorUnits: Number(minor), exact: /^0*$/.test(rest), text };
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

/** A naive-UTC source instant as a Date (ms precision), and whether digits below the ms were dropped. */
function parseNaiveUtc(text: string | null): { date: Date | null; subMs: boolean; bad: boolean } {
  if (text === null) return { date: null, subMs: false, bad: false };
  const m = DATE_RE.exec(text.trim());
  if (!m) return { date: null, subMs: false, bad: true };
  const frac = m[7] ?? '';
  const ms = Number(frac.slice(0, 3).padEnd(3, '0'));
  const date = new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0), ms),
  );
  return { date, subMs: /[1-9]/.test(frac.slice(3)), bad: Number.isNaN(date.getTime()) };
}

interface PlannedLoan {
  row: FlaskLoanRow;
  status: LoanStatus;
  borrowerId: number;
  copyId: number;
  catalogId: number;
  requestDate: Date;
  approvalDate: Date | null;
  dueDate: Date | null;
  returnDate: Date | null;
  minorUnits: number;
}

/**
 * Imports the database of the original SWL Flask application (`user`, `catalog`, `item_instance`,
 * `loan`, `library_log`; an `alembic_version` table is ignored) from its SQLite file (opened
 * read-only) or its PostgreSQL database (read in one read-only transaction) into a database
 * initialized by the package (either dialect, migrations applied), in ONE transaction (a failure
 * anywhere rolls all of it back), and returns the report.
 *
 * - **Ids** are kept; PostgreSQL sequences are set past them. Codes, names, environments,
 *   observations kept as they are; naive-UTC dates read as UTC (to the millisecond; the source
 *   text of a loan's dates is kept in its `requested` event's `data.source`).
 * - **History:** each loan gets its events from its dates (`requested` at the request date,
 *   `approved`, `returned`, `rejected`; `penalty_settled` when `penalties` is `paid`/`waived`),
 *   each with `data.importedFrom = 'swl-flask'` ({@link FLASK_IMPORT_MARKER}) and no actor; a copy
 *   that is not `disponible` gets one event to its status (`note` = the marker). A `rechazado`
 *   loan's rejection date is its request date (the source records none); a returned loan's
 *   `returnOutcome` stays null (not recorded either). Visits are linked to the user with the same
 *   document id.
 * - **Money:** `final_penalty` (pesos, float) → `finalPenalty = overdueFine` in centavos by
 *   {@link penaltyToMinorUnits}; every inexact conversion is listed. Unpaid by default.
 * - **Passwords:** Werkzeug hashes kept as they are (`UserService` with
 *   `legacyPasswordVerifiers: [werkzeugPasswordVerifier()]` verifies them and upgrades them to
 *   argon2id at the first sign-in); no flag is needed. A user whose hash still verifies as
 *   the original seed's default password (`run.py`) gets `mustChangePassword`.
 * - **Vocabulary:** roles, categories, statuses outside the package's sets stop the import
 *   (report: value and count) unless mapped (`mapRole`, `mapCategory`, `mapStatus`); a status
 *   that is only in another case or padded is an inconsistency (`status-case`); a null status is
 *   the original model's default.
 * - **Inconsistencies** stop the import unless `repair`. Repair policy — "the loans are the record;
 *   copies follow them; what cannot be represented is skipped and listed with its whole row":
 *   statuses are lower-cased/trimmed; loans without user or copy, with impossible dates or a
 *   negative penalty are skipped; of two `aprobado` loans on one copy, the one approved last stays,
 *   the others are skipped; a copy held by an `aprobado` loan becomes `prestado`; a `prestado` copy
 *   that no loan holds becomes `disponible`.
 * - **Target:** refused when it has desk data, unless `merge`. A target has none when it has no loans, loan
 *   events, visits, reservations, holds or idempotency keys, no user but the seeded default admin (document
 *   `1000000000`), no catalog entry but the seeded inventory titles, and no copy event but
 *   `created`: the seeded catalog (with its copies and their events) is then removed, as is the
 *   seeded admin when a source user has its id, document id or email; policies stay.
 * - **Merge** (`merge: true`, for a target that already has desk data; the seed, if any, stays):
 *   the target assigns the ids, and `report.merge.ids` maps each source id to its target id
 *   (the source id is also in each loan's `requested` event, `data.source.id`, and in each
 *   copy's `created` event note). A source user whose document id a target user has IS that user: not
 *   written, the target's row kept as it is, the source's loans and visits go to it
 *   (`merge.matchedUsers`). A catalog entry with the same title, author/brand and category as a
 *   target entry is that entry: its copies join it, numbered after the target's
 *   (`merge.matchedEntries`). Each copy gets a `created` event at the import instant. Conflicts
 *   stop the import (`merge.conflicts`): a source user whose email a different target user has;
 *   a copy whose code a target copy has — unless `recodeClashes`, which gives it the package's
 *   code `XXX-{entryId}-{n}` on its target entry (`merge.recoded`: relabel those copies).
 *   Imported loans are history: they are not checked against the target's policies or limits.
 * - **Idempotent:** when every row the source would write is already there (same ids and
 *   document ids / codes, loans carrying the import marker and the source's digest,
 *   `report.source.digest`), or any row carries the source's digest (a loan's `requested`
 *   event, a merged copy's `created` event: the import was one transaction), nothing is written
 *   and the outcome is `already-imported`.
 *
 * @param orm - an initialized MikroORM on a database initialized by the package.
 * @param source - path of the Flask application's SQLite file (`instance/app.db`), or the URL of its
 *   PostgreSQL database (`postgresql://…`, needs `@mikro-orm/postgresql`).
 * @param options - see {@link FlaskImportOptions}.
 * @returns the report; `outcome` says whether anything was written.
 * @throws SwlError `NOT_FOUND` (no such file), `VALIDATION_FAILED` (not a Flask database),
 *   `CONFLICT`, `UNAVAILABLE`, `INTERNAL` (the transaction is rolled back: nothing written).
 */
export async function importSwlFlaskDatabase(
  orm: MikroORM,
  source: string,
  options: FlaskImportOptions = {},
): Promise<FlaskImportReport> {
  const postgres = isPostgresUrl(source);
  const tables = postgres ? await readFlaskPostgres(source) : readFlaskSqlite(source);
  const planned = plan(tables, options);
  const report0 = planned.report;
  report0.source.kind = postgres ? 'postgresql' : 'sqlite';
  report0.source.location = postgres ? redactUrl(source) : source;

  const verifier = werkzeugPasswordVerifier();
  for (const u of tables.user) {
    const h = u.password_hash;
    if (h === null || h === '')
      report0.passwords.withoutPassword.push({ id: u.id, documentId: u.document_id });
    else if (verifier.matches(h)) report0.passwords.werkzeug++;
    else report0.passwords.unknownScheme.push({ id: u.id, documentId: u.document_id });
  }
  const admin = tables.user.find((u) => u.document_id === DEFAULT_ADMIN.documentId);
  if (admin?.password_hash && verifier.matches(admin.password_hash)) {
    if (await verifier.verify(admin.password_hash, ORIGINAL_DEFAULT_PASSWORD).catch(() => false)) {
      report0.defaultAdminPassword = { id: admin.id, documentId: admin.document_id };
    }
  }

  if (report0.unknownVocabulary.length > 0) {
    report0.refusal.push(
      `values outside the package's vocabulary: ${report0.unknownVocabulary
        .map((v) => `${v.table}.${v.column} '${v.value}' (${v.count})`)
        .join(
          ', ',
        )}; map them (mapRole / --map-role, mapCategory / --map-category, mapStatus / --map-status)`,
    );
  }
  if (report0.inconsistencies.length > 0 && !options.repair) {
    report0.refusal.push(
      `${report0.inconsistencies.length} inconsistent row(s); see inconsistencies; import with repair (--repair) to apply the repair policy`,
    );
  }

  const target = await inspectTarget(orm.em.fork(), planned);
  if (target.alreadyImported) {
    report0.outcome = 'already-imported';
    report0.refusal = [];
    return report0;
  }
  let merge: MergePlan | null = null;
  if (options.merge) {
    merge = await planMerge(orm.em.fork(), planned, options);
    report0.merge = merge.report;
    const w = report0.written;
    w.users -= merge.users.size;
    w.catalogEntries -= merge.entries.size;
    w.copyEvents += planned.copies.size; // a `created` event per copy, carrying the source digest
    if (report0.defaultAdminPassword && merge.users.has(report0.defaultAdminPassword.id)) {
      report0.defaultAdminPassword = null; // the target's own user stays as it is
    }
    if (merge.report.conflicts.length > 0) {
      report0.refusal.push(
        `${merge.report.conflicts.length} source row(s) conflict with the target's; see merge.conflicts` +
          (merge.report.conflicts.some((c) => c.table === 'item_instance') && !options.recodeClashes
            ? '; give clashing copies new codes with recodeClashes (--recode-clashes)'
            : ''),
      );
    }
  } else if (target.deskData.length > 0) {
    report0.refusal.push(
      `the target database already has desk data: ${target.deskData.join(', ')}; merge the source into it with merge (--merge)`,
    );
  }
  if (report0.refusal.length > 0) {
    report0.outcome = 'refused';
    return report0;
  }
  if (options.dryRun) {
    report0.outcome = 'dry-run';
    if (!merge) report0.replacedSeed = target.replace;
    return report0;
  }

  try {
    // A fresh EntityManager: the inspection's loaded the seed rows that the transaction replaces.
    await orm.em.fork().transactional(async (tx) => {
      if (!merge) await removeSeed(tx, target.removeAdmin);
      await write(tx, planned, options, merge);
    });
  } catch (error) {
    throw toSwlError(error);
  }
  if (!merge) report0.replacedSeed = target.replace;
  report0.outcome = 'imported';
  return report0;
}

interface Plan {
  report: FlaskImportReport;
  tables: FlaskTables;
  roles: Map<number, Role>;
  categories: Map<number, Category>;
  copies: Map<
    number,
    { row: FlaskInstanceRow; status: CopyStatus; sequence: number; heldBy: PlannedLoan | null }
  >;
  loans: PlannedLoan[];
  logRoles: Map<number, VisitorRole>;
}

function plan(tables: FlaskTables, options: FlaskImportOptions): Plan {
  const report: FlaskImportReport = {
    outcome: 'refused',
    refusal: [],
    source: {
      kind: 'sqlite',
      location: '',
      digest: createHash('sha256').update(JSON.stringify(tables)).digest('hex'),
      rows: Object.fromEntries(
        FLASK_TABLES.map((t) => [t, tables[t].length]),
      ) as FlaskImportReport['source']['rows'],
    },
    written: { users: 0, catalogEntries: 0, copies: 0, loans: 0, loanEvents: 0, copyEvents: 0, visits: 0 },
    unknownVocabulary: [],
    inconsistencies: [],
    skipped: [],
    money: {
      rule: MONEY_RULE,
      converted: 0,
      inexact: [],
      penalties: options.penalties ?? 'unpaid',
      loansWithPenalty: 0,
    },
    passwords: { werkzeug: 0, withoutPassword: [], unknownScheme: [] },
    defaultAdminPassword: null,
    rejectionDateFromRequest: 0,
    subMillisecondDates: 0,
    replacedSeed: { users: 0, catalogEntries: 0, copies: 0, copyEvents: 0 },
    merge: null,
  };
  const unknown = new Map<string, FlaskVocabularyIssue>();
  const noteUnknown = (table: string, column: string, value: string) => {
    const key = `${table}\u0000${column}\u0000${value}`;
    const issue = unknown.get(key) ?? { table, column, value, count: 0 };
    issue.count++;
    unknown.set(key, issue);
  };
  const inconsistent = (i: FlaskInconsistency) => report.inconsistencies.push(i);
  const skip = (table: string, row: { id: number }, reason: FlaskInconsistencyKind) =>
    report.skipped.push({ table, id: row.id, reason, row: { ...row } });

  const mapRole = options.mapRole ?? {};
  const mapCategory = options.mapCategory ?? {};
  const mapStatus = options.mapStatus ?? {};
  const roles = new Map<number, Role>();
  for (const u of tables.user) {
    const role = mapRole[u.role] ?? u.role;
    if ((ROLES as readonly string[]).includes(role)) roles.set(u.id, role as Role);
    else noteUnknown('user', 'role', u.role);
  }
  const logRoles = new Map<number, VisitorRole>();
  for (const l of tables.library_log) {
    const role = mapRole[l.role] ?? l.role;
    if ((VISITOR_ROLES as readonly string[]).includes(role)) logRoles.set(l.id, role as VisitorRole);
    else noteUnknown('library_log', 'role', l.role);
  }
  const categories = new Map<number, Category>();
  for (const c of tables.catalog) {
    const category = mapCategory[c.category] ?? c.category;
    if ((CATEGORIES as readonly string[]).includes(category)) categories.set(c.id, category as Category);
    else noteUnknown('catalog', 'category', c.category);
  }

  const status = <T extends string>(
    table: string,
    id: number,
    value: string | null,
    allowed: readonly T[],
    fallback: T,
  ): T | null => {
    if (value === null) return fallback; // the column default of the original model
    const mapped = mapStatus[value] ?? value;
    if ((allowed as readonly string[]).includes(mapped)) return mapped as T;
    const folded = mapped.trim().toLowerCase();
    if ((allowed as readonly string[]).includes(folded)) {
      inconsistent({
        kind: 'status-case',
        table,
        id,
        message: `${table} ${id}: status '${value}'`,
        repair: `stored as '${folded}'`,
      });
      return folded as T;
    }
    noteUnknown(table, 'status', value);
    return null;
  };

  // Copies.
  const catalogIds = new Set(tables.catalog.map((c) => c.id));
  const copies: Plan['copies'] = new Map();
  const usedSequences = new Map<number, Set<number>>();
  const needSequence: FlaskInstanceRow[] = [];
  // A copy whose status is unknown still holds its loans (the unknown value refuses the import
  // anyway; the report should not also call its loans copy-less).
  const unknownStatus = new Set<number>();
  for (const c of tables.item_instance) {
    let st = status('item_instance', c.id, c.status, COPY_STATUSES, 'disponible');
    if (st === null) {
      unknownStatus.add(c.id);
      st = 'disponible';
    }
    if (c.catalog_id === null || !catalogIds.has(c.catalog_id)) {
      inconsistent({
        kind: 'copy-without-catalog',
        table: 'item_instance',
        id: c.id,
        message: `copy ${c.id} (${c.unique_code}) has catalog_id ${c.catalog_id}, no such catalog row`,
        repair: 'skipped (listed in skipped), with its loans',
      });
      skip('item_instance', c, 'copy-without-catalog');
      continue;
    }
    const n = /-(\d+)$/.exec(c.unique_code);
    const seq = n ? Number(n[1]) : 0;
    const used = usedSequences.get(c.catalog_id) ?? new Set<number>();
    usedSequences.set(c.catalog_id, used);
    if (seq >= 1 && !used.has(seq)) used.add(seq);
    else needSequence.push(c);
    copies.set(c.id, { row: c, status: st, sequence: seq, heldBy: null });
  }
  for (const c of needSequence) {
    // A code without a usable `-{n}` suffix: the next free number of its entry (the code is kept).
    const used = usedSequences.get(c.catalog_id as number) as Set<number>;
    let seq = 1;
    while (used.has(seq)) seq++;
    used.add(seq);
    (copies.get(c.id) as { sequence: number }).sequence = seq;
  }

  // Loans.
  const allUserIds = new Set(tables.user.map((u) => u.id));
  const loans: PlannedLoan[] = [];
  for (const l of tables.loan) {
    const st = status('loan', l.id, l.status, LOAN_STATUSES, 'pendiente');
    if (st === null) continue;
    if (l.user_id === null || !allUserIds.has(l.user_id)) {
      inconsistent({
        kind: 'loan-without-user',
        table: 'loan',
        id: l.id,
        message: `loan ${l.id} has user_id ${l.user_id}, no such user`,
        repair: 'skipped (listed in skipped)',
      });
      skip('loan', l, 'loan-without-user');
      continue;
    }
    const copy = l.instance_id === null ? undefined : copies.get(l.instance_id);
    if (!copy) {
      inconsistent({
        kind: 'loan-without-copy',
        table: 'loan',
        id: l.id,
        message: `loan ${l.id} has instance_id ${l.instance_id}, no such copy`,
        repair: 'skipped (listed in skipped)',
      });
      skip('loan', l, 'loan-without-copy');
      continue;
    }
    const dates = [l.request_date, l.approval_date, l.due_date, l.return_date].map(parseNaiveUtc);
    report.subMillisecondDates += dates.filter((d) => d.subMs).length;
    const [request, approval, due, ret] = dates.map((d) => d.date) as [
      Date | null,
      Date | null,
      Date | null,
      Date | null,
    ];
    const t = (d: Date | null | undefined) => d?.getTime() ?? Number.NaN;
    const datesOk =
      !dates.some((d) => d.bad) &&
      request !== null &&
      (approval === null || t(approval) >= t(request)) &&
      (ret === null || (approval !== null && t(ret) >= t(approval))) &&
      (st === 'pendiente'
        ? approval === null && ret === null
        : st === 'aprobado'
          ? approval !== null && due !== null && t(due) > t(approval) && ret === null
          : st === 'devuelto'
            ? approval !== null && ret !== null
            : approval === null && ret === null);
    if (!datesOk) {
      inconsistent({
        kind: 'loan-dates',
        table: 'loan',
        id: l.id,
        message: `loan ${l.id} (${st}) has dates request ${l.request_date}, approval ${l.approval_date}, due ${l.due_date}, return ${l.return_date}`,
        repair: 'skipped (listed in skipped)',
      });
      skip('loan', l, 'loan-dates');
      continue;
    }
    const penalty = l.final_penalty ?? 0;
    if (!(penalty >= 0) || !Number.isFinite(penalty)) {
      inconsistent({
        kind: 'negative-penalty',
        table: 'loan',
        id: l.id,
        message: `loan ${l.id} has final_penalty ${l.final_penalty}`,
        repair: 'skipped (listed in skipped)',
      });
      skip('loan', l, 'negative-penalty');
      continue;
    }
    const money = penaltyToMinorUnits(penalty);
    if (l.final_penalty !== null && l.final_penalty !== 0) report.money.converted++;
    if (!money.exact)
      report.money.inexact.push({ loanId: l.id, source: money.text, minorUnits: money.minorUnits });
    if (money.minorUnits > 0) report.money.loansWithPenalty++;
    if (st === 'rechazado') report.rejectionDateFromRequest++;
    loans.push({
      row: l,
      status: st,
      borrowerId: l.user_id,
      copyId: copy.row.id,
      catalogId: copy.row.catalog_id as number,
      requestDate: request as Date,
      approvalDate: approval,
      dueDate: due,
      returnDate: ret,
      minorUnits: money.minorUnits,
    });
  }

  // Two aprobado loans on one copy: the one approved last stays.
  const approvedByCopy = new Map<number, PlannedLoan[]>();
  for (const l of loans.filter((x) => x.status === 'aprobado')) {
    approvedByCopy.set(l.copyId, [...(approvedByCopy.get(l.copyId) ?? []), l]);
  }
  const dropped = new Set<PlannedLoan>();
  for (const [copyId, held] of approvedByCopy) {
    held.sort((a, b) => t0(a.approvalDate) - t0(b.approvalDate) || a.row.id - b.row.id);
    const keep = held.at(-1) as PlannedLoan;
    for (const l of held.slice(0, -1)) {
      inconsistent({
        kind: 'two-approved-loans-on-copy',
        table: 'loan',
        id: l.row.id,
        message: `loan ${l.row.id} is aprobado on copy ${copyId}, as is loan ${keep.row.id} (approved later)`,
        repair: `skipped (listed in skipped); loan ${keep.row.id} stays aprobado`,
      });
      skip('loan', l.row, 'two-approved-loans-on-copy');
      dropped.add(l);
    }
    (copies.get(copyId) as { heldBy: PlannedLoan | null }).heldBy = keep;
  }
  const kept = loans.filter((l) => !dropped.has(l));
  for (const [id, copy] of copies) {
    if (unknownStatus.has(id)) continue;
    if (copy.heldBy && copy.status !== 'prestado') {
      inconsistent({
        kind: 'approved-loan-on-free-copy',
        table: 'item_instance',
        id,
        message: `copy ${id} (${copy.row.unique_code}) is ${copy.status} but loan ${copy.heldBy.row.id} is aprobado on it`,
        repair: 'copy stored as prestado',
      });
      copy.status = 'prestado';
    } else if (!copy.heldBy && copy.status === 'prestado') {
      inconsistent({
        kind: 'prestado-copy-without-loan',
        table: 'item_instance',
        id,
        message: `copy ${id} (${copy.row.unique_code}) is prestado but no aprobado loan holds it`,
        repair: 'copy stored as disponible',
      });
      copy.status = 'disponible';
    }
  }

  report.unknownVocabulary = [...unknown.values()];
  report.written = {
    users: roles.size,
    catalogEntries: categories.size,
    copies: copies.size,
    loans: kept.length,
    loanEvents: kept.reduce((n, l) => n + eventCount(l, options), 0),
    copyEvents: [...copies.values()].filter((c) => c.status !== 'disponible').length,
    visits: logRoles.size,
  };
  return { report, tables, roles, categories, copies, loans: kept, logRoles };
}

const t0 = (d: Date | null) => d?.getTime() ?? 0;

const settles = (l: PlannedLoan, options: FlaskImportOptions) =>
  (options.penalties ?? 'unpaid') !== 'unpaid' && l.status === 'devuelto' && l.minorUnits > 0;

function eventCount(l: PlannedLoan, options: FlaskImportOptions): number {
  return l.status === 'pendiente'
    ? 1
    : l.status === 'rechazado' || l.status === 'aprobado'
      ? 2
      : settles(l, options)
        ? 4
        : 3;
}

interface TargetState {
  deskData: string[];
  alreadyImported: boolean;
  removeAdmin: number | null;
  replace: FlaskImportReport['replacedSeed'];
}

async function inspectTarget(em: EntityManager, p: Plan): Promise<TargetState> {
  // One query after another: one EntityManager, one connection.
  const loans = await em.count(Loan, {});
  const loanEvents = await em.count(LoanEvent, {});
  const visits = await em.count(LibraryLog, {});
  const keys = await em.count(IdempotencyKey, {});
  const bookings = await em.count(Reservation, {});
  const holds = await em.count(Hold, {});
  const users = await em.find(User, {}, { fields: ['id', 'documentId', 'email'] });
  const entries = await em.find(CatalogEntry, {}, { fields: ['id', 'titleOrName'] });
  const copies = await em.count(ItemInstance, {});
  const copyEvents = await em.count(CopyEvent, {});
  const activity = await em.count(CopyEvent, { type: { $ne: 'created' } });

  // Rows carrying this source's digest (its loans' `requested` events, or the `created` events of a
  // merge's copies) were written by an import of it, which is one transaction: all of it is there.
  const digest = p.report.source.digest;
  const carried =
    (await em.count(LoanEvent, { type: 'requested', data: { sourceDigest: digest } })) +
    (await em.count(CopyEvent, { type: 'created', note: { $like: `%${digest}%` } }));
  if (carried > 0) return { deskData: [], alreadyImported: true, removeAdmin: null, replace: emptyReplace() };

  // Already imported: every row this source would write is there, loans with the import marker.
  if (loans > 0 || users.length > 1) {
    const userOk = p.tables.user
      .filter((u) => p.roles.has(u.id))
      .every((u) => users.some((t) => t.id === u.id && t.documentId === u.document_id));
    const wantCopies = [...p.copies.values()];
    const haveCopies = await em.find(
      ItemInstance,
      { id: { $in: wantCopies.map((c) => c.row.id) } },
      { fields: ['id', 'code'] },
    );
    const codes = new Map(haveCopies.map((c) => [c.id, c.code]));
    const copiesOk = wantCopies.every((c) => codes.get(c.row.id) === c.row.unique_code);
    const marked = await em.find(
      LoanEvent,
      { type: 'requested', loan: { $in: p.loans.map((l) => l.row.id) } },
      { fields: ['id', 'loan', 'data'] },
    );
    const markedLoans = new Set(
      marked
        .filter((e) => {
          const data = e.data as Record<string, unknown> | null;
          return data?.importedFrom === FLASK_IMPORT_MARKER && data.sourceDigest === p.report.source.digest;
        })
        .map((e) => e.loan.id),
    );
    const loansOk = p.loans.every((l) => markedLoans.has(l.row.id));
    const visitsOk =
      (await em.count(LibraryLog, { id: { $in: [...p.logRoles.keys()] } })) === p.logRoles.size;
    if (userOk && copiesOk && loansOk && visitsOk && p.loans.length + p.logRoles.size + p.roles.size > 0) {
      return { deskData: [], alreadyImported: true, removeAdmin: null, replace: emptyReplace() };
    }
  }

  const deskData: string[] = [];
  if (loans > 0) deskData.push(`${loans} loan(s)`);
  if (loanEvents > 0) deskData.push(`${loanEvents} loan event(s)`);
  if (visits > 0) deskData.push(`${visits} visit(s)`);
  if (keys > 0) deskData.push(`${keys} idempotency key(s)`);
  if (bookings > 0) deskData.push(`${bookings} reservation(s)`);
  if (holds > 0) deskData.push(`${holds} hold(s)`);
  const others = users.filter((u) => u.documentId !== DEFAULT_ADMIN.documentId);
  if (others.length > 0) deskData.push(`${others.length} user(s) besides the seeded admin`);
  const seededTitles = new Set(DEFAULT_INVENTORY.map((i) => i.titleOrName));
  const ownEntries = entries.filter((e) => !seededTitles.has(e.titleOrName));
  if (ownEntries.length > 0) deskData.push(`${ownEntries.length} catalog entr(y/ies) not of the seed`);
  if (activity > 0) deskData.push(`${activity} copy event(s) besides 'created'`);

  const seededAdmin = users.find((u) => u.documentId === DEFAULT_ADMIN.documentId);
  const clashes =
    seededAdmin !== undefined &&
    p.tables.user.some(
      (u) =>
        u.id === seededAdmin.id ||
        u.document_id === seededAdmin.documentId ||
        (u.email !== null && u.email === seededAdmin.email),
    );
  return {
    deskData,
    alreadyImported: false,
    removeAdmin: clashes ? (seededAdmin?.id ?? null) : null,
    replace: { users: clashes ? 1 : 0, catalogEntries: entries.length, copies, copyEvents },
  };
}

const emptyReplace = () => ({ users: 0, catalogEntries: 0, copies: 0, copyEvents: 0 });

const emptyIds = (): FlaskMergeReport['ids'] => ({
  user: [],
  catalog: [],
  item_instance: [],
  loan: [],
  library_log: [],
});

interface MergePlan {
  report: FlaskMergeReport;
  /** Matched source user id → target user id. */
  users: Map<number, number>;
  /** Matched source entry id → target entry id. */
  entries: Map<number, number>;
  /** Per source copy: its sequence in its target entry. */
  copies: Map<number, { sequence: number }>;
  /** Code prefix of each matched target entry (of its last copy), for new codes. */
  prefixes: Map<number, string>;
  /** Target users by document id, for linking visits. */
  documentIds: Map<string, number>;
}

/** Matches the source's rows with the target's for a merge; lists what cannot join. */
async function planMerge(em: EntityManager, p: Plan, options: FlaskImportOptions): Promise<MergePlan> {
  const report: FlaskMergeReport = {
    ids: emptyIds(),
    matchedUsers: [],
    matchedEntries: [],
    recoded: [],
    conflicts: [],
  };
  const importable = p.tables.user.filter((u) => p.roles.has(u.id));
  const visitorIds = [...new Set(p.tables.library_log.map((l) => l.visitor_id))];
  const emails = importable.flatMap((u) => (u.email === null ? [] : [u.email]));
  const targetUsers = await em.find(
    User,
    {
      $or: [
        { documentId: { $in: [...importable.map((u) => u.document_id), ...visitorIds] } },
        { email: { $in: emails } },
      ],
    },
    { fields: ['id', 'documentId', 'email'] },
  );
  const byDocument = new Map(targetUsers.map((u) => [u.documentId, u]));
  const byEmail = new Map(targetUsers.flatMap((u) => (u.email === null ? [] : [[u.email, u] as const])));
  const users = new Map<number, number>();
  for (const u of importable) {
    const same = byDocument.get(u.document_id);
    if (same) {
      users.set(u.id, same.id);
      report.matchedUsers.push({ sourceId: u.id, targetId: same.id, documentId: u.document_id });
      continue;
    }
    const other = u.email === null ? undefined : byEmail.get(u.email);
    if (other) {
      report.conflicts.push({
        table: 'user',
        id: u.id,
        message: `user ${u.id} (document ${u.document_id}) has email ${u.email}, which target user ${other.id} (document ${other.documentId}) has`,
      });
    }
  }

  const entryKey = (title: string, author: string | null, category: string) =>
    `${title}\u0000${author ?? ''}\u0000${category}`;
  const targetEntries = await em.find(
    CatalogEntry,
    {},
    { fields: ['id', 'titleOrName', 'authorOrBrand', 'category'], orderBy: { id: 'asc' } },
  );
  const entryByKey = new Map<string, number>();
  for (const e of targetEntries) {
    const key = entryKey(e.titleOrName, e.authorOrBrand ?? null, e.category);
    if (!entryByKey.has(key)) entryByKey.set(key, e.id);
  }
  const entries = new Map<number, number>();
  for (const c of p.tables.catalog) {
    const category = p.categories.get(c.id);
    const match = category && entryByKey.get(entryKey(c.title_or_name, c.author_or_brand, category));
    if (match) {
      entries.set(c.id, match);
      report.matchedEntries.push({ sourceId: c.id, targetId: match, titleOrName: c.title_or_name });
    }
  }

  // Copies: sequences continue after the target's in a matched entry; clashing codes.
  const matchedTargets = [...new Set(entries.values())];
  const targetCopies = await em.find(
    ItemInstance,
    { catalogEntry: { $in: matchedTargets } },
    { fields: ['id', 'catalogEntry', 'sequence', 'code'], orderBy: { sequence: 'asc' } },
  );
  const used = new Map<number, Set<number>>();
  const prefixes = new Map<number, string>();
  for (const c of targetCopies) {
    const entry = c.catalogEntry.id;
    used.set(entry, (used.get(entry) ?? new Set()).add(c.sequence));
    const prefix = prefixOfCode(c.code);
    if (prefix) prefixes.set(entry, prefix);
  }
  const codes = [...p.copies.values()].map((c) => c.row.unique_code);
  const clashing = new Map(
    (await em.find(ItemInstance, { code: { $in: codes } }, { fields: ['id', 'code'] })).map((c) => [
      c.code,
      c.id,
    ]),
  );
  const copies = new Map<number, { sequence: number }>();
  for (const [id, c] of p.copies) {
    const target = entries.get(c.row.catalog_id as number);
    let sequence = c.sequence;
    if (target !== undefined) {
      const taken = used.get(target) ?? new Set<number>();
      used.set(target, taken);
      if (taken.has(sequence)) sequence = Math.max(...taken) + 1;
      taken.add(sequence);
    }
    const clash = clashing.get(c.row.unique_code);
    if (clash !== undefined) {
      if (options.recodeClashes) report.recoded.push({ sourceId: id, from: c.row.unique_code, to: null });
      else
        report.conflicts.push({
          table: 'item_instance',
          id,
          message: `copy ${id} has code ${c.row.unique_code}, which target copy ${clash} has`,
        });
    }
    copies.set(id, { sequence });
  }
  for (const [source, target] of users) report.ids.user.push([source, target]);
  for (const [source, target] of entries) report.ids.catalog.push([source, target]);
  return {
    report,
    users,
    entries,
    copies,
    prefixes,
    documentIds: new Map(targetUsers.map((u) => [u.documentId, u.id])),
  };
}

async function removeSeed(tx: EntityManager, adminId: number | null): Promise<void> {
  await tx.nativeDelete(CopyEvent, {});
  await tx.nativeDelete(ItemInstance, {});
  await tx.nativeDelete(CatalogEntry, {});
  if (adminId !== null) await tx.nativeDelete(User, { id: adminId });
}

async function write(
  tx: EntityManager,
  p: Plan,
  options: FlaskImportOptions,
  merge: MergePlan | null,
): Promise<void> {
  const now = options.now ?? new Date();
  const marker = { importedFrom: FLASK_IMPORT_MARKER };
  const sourceDigest = p.report.source.digest;
  const w = p.report.written;
  const total = w.users + w.catalogEntries + w.copies + w.loans + w.loanEvents + w.copyEvents + w.visits;
  let done = 0;
  const progress = async (n: number) => {
    await tx.flush();
    done += n;
    options.onProgress?.(done, total);
  };
  const mustChange = p.report.defaultAdminPassword?.id;
  // Under a merge the target assigns ids (`keep` is false) and these maps take source ids to them.
  const keep = merge === null;
  const ids = merge?.report.ids ?? emptyIds();
  const userIds = new Map<number, number>(merge?.users ?? []);
  const entryIds = new Map<number, number>(merge?.entries ?? []);
  const copyIds = new Map<number, number>();
  const documentIds = new Map<string, number>(merge?.documentIds ?? []);
  const pending = <T extends { id: number }>(table: FlaskMergedTable, into: Map<number, number> | null) => {
    const created: [number, T][] = [];
    return {
      add: (sourceId: number, entity: T) => created.push([sourceId, entity]),
      /** After a flush: record the target ids. */
      settle: () => {
        for (const [sourceId, entity] of created) {
          into?.set(sourceId, entity.id);
          if (!keep) ids[table].push([sourceId, entity.id]);
        }
      },
    };
  };

  const newUsers = pending<User>('user', userIds);
  for (const u of p.tables.user) {
    const role = p.roles.get(u.id);
    if (!role || merge?.users.has(u.id)) continue;
    const user = tx.create(User, {
      ...(keep ? { id: u.id } : {}),
      documentId: u.document_id,
      fullName: u.full_name,
      email: u.email,
      phone: u.phone,
      role,
      programName: u.program_name,
      passwordHash: u.password_hash === '' ? null : u.password_hash,
      active: true,
      mustChangePassword: u.id === mustChange,
      createdAt: now,
      updatedAt: now,
    });
    newUsers.add(u.id, user);
  }
  await progress(w.users);
  newUsers.settle();
  for (const u of p.tables.user) {
    const id = userIds.get(u.id);
    if (id !== undefined) documentIds.set(u.document_id, id);
  }

  const newEntries = pending<CatalogEntry>('catalog', entryIds);
  for (const c of p.tables.catalog) {
    const category = p.categories.get(c.id);
    if (!category || merge?.entries.has(c.id)) continue;
    const entry = tx.create(CatalogEntry, {
      ...(keep ? { id: c.id } : {}),
      titleOrName: c.title_or_name,
      category,
      authorOrBrand: c.author_or_brand,
      identifier: null,
      replacementCost: null,
      searchText: catalogSearchText({ titleOrName: c.title_or_name, authorOrBrand: c.author_or_brand }),
      createdAt: now,
      updatedAt: now,
    });
    newEntries.add(c.id, entry);
  }
  await progress(w.catalogEntries);
  newEntries.settle();

  const newCopies = pending<ItemInstance>('item_instance', copyIds);
  const titles = new Map(p.tables.catalog.map((c) => [c.id, c.title_or_name]));
  const recoded = new Map(merge?.report.recoded.map((r) => [r.sourceId, r]) ?? []);
  const codesGiven = new Set<string>();
  for (const [id, c] of p.copies) {
    const sourceEntry = c.row.catalog_id as number;
    const entry = entryIds.get(sourceEntry) ?? sourceEntry;
    const sequence = merge?.copies.get(id)?.sequence ?? c.sequence;
    let code = c.row.unique_code;
    const recode = recoded.get(id);
    if (recode) {
      // The package's scheme, on the target entry: `XXX-{entryId}-{sequence}`, free in the target.
      const prefix = merge?.prefixes.get(entry) ?? codePrefix(titles.get(sourceEntry) ?? '');
      const base = copyCode(prefix, entry, sequence);
      code = base;
      for (let k = 2; (await tx.count(ItemInstance, { code })) > 0 || codesGiven.has(code); k++) {
        code = `${base}-${k}`; // a target copy already has the scheme's code (rare): a suffix
      }
      codesGiven.add(code);
      recode.to = code;
    }
    const copy = tx.create(ItemInstance, {
      ...(keep ? { id } : {}),
      catalogEntry: entry,
      sequence,
      code,
      status: c.status,
      condition: c.row.condition,
      createdAt: now,
      updatedAt: now,
    });
    newCopies.add(id, copy);
  }
  await progress(w.copies);
  newCopies.settle();
  if (merge) {
    // `created` precedes the copy's history: at the import instant, or its first loan's request.
    const firstUse = new Map<number, number>();
    for (const l of p.loans) {
      firstUse.set(l.copyId, Math.min(firstUse.get(l.copyId) ?? now.getTime(), l.requestDate.getTime()));
    }
    for (const [sourceId, id] of copyIds) {
      tx.create(CopyEvent, {
        copy: id,
        type: 'created',
        fromStatus: null,
        toStatus: 'disponible',
        loan: null,
        actor: null,
        at: new Date(firstUse.get(sourceId) ?? now.getTime()),
        note: `${FLASK_IMPORT_MARKER}: copy ${sourceId} of source ${sourceDigest}`,
      });
    }
  }

  const batch = 200;
  const loans = new Map<number, Loan>();
  for (let i = 0; i < p.loans.length; i += batch) {
    let events = 0;
    const newLoans = pending<Loan>('loan', null);
    for (const l of p.loans.slice(i, i + batch)) {
      const settled = settles(l, options);
      const loan = tx.create(Loan, {
        ...(keep ? { id: l.row.id } : {}),
        borrower: userIds.get(l.borrowerId) ?? l.borrowerId,
        catalogEntry: entryIds.get(l.catalogId) ?? l.catalogId,
        copy: copyIds.get(l.copyId) ?? l.copyId,
        environment: l.row.environment,
        status: l.status,
        requestDate: l.requestDate,
        approvalDate: l.approvalDate,
        dueDate: l.dueDate,
        returnDate: l.returnDate,
        rejectionDate: l.status === 'rechazado' ? l.requestDate : null,
        observation: l.row.observation,
        overdueFine: l.minorUnits,
        replacementCharge: 0,
        finalPenalty: l.minorUnits,
        penaltySettlement: settled ? (options.penalties as PenaltySettlement) : null,
        penaltySettledAt: settled ? l.returnDate : null,
        createdAt: now,
        updatedAt: now,
      });
      loans.set(l.row.id, loan);
      newLoans.add(l.row.id, loan);
      const event = (
        type: LoanEvent['type'],
        fromStatus: LoanStatus | null,
        toStatus: LoanStatus,
        at: Date,
        data: Record<string, unknown> = {},
      ) => {
        tx.create(LoanEvent, {
          loan,
          type,
          fromStatus,
          toStatus,
          actor: null,
          at,
          data: { ...marker, ...data },
        });
        events++;
      };
      const r = l.row;
      event('requested', null, 'pendiente', l.requestDate, {
        sourceDigest,
        source: {
          id: r.id,
          request_date: r.request_date,
          approval_date: r.approval_date,
          due_date: r.due_date,
          return_date: r.return_date,
          status: r.status,
          final_penalty: r.final_penalty,
        },
      });
      if (l.status === 'rechazado') event('rejected', 'pendiente', 'rechazado', l.requestDate);
      if (l.status === 'aprobado' || l.status === 'devuelto') {
        event('approved', 'pendiente', 'aprobado', l.approvalDate as Date, {
          dueDate: l.dueDate?.toISOString() ?? null,
        });
      }
      if (l.status === 'devuelto') {
        event('returned', 'aprobado', 'devuelto', l.returnDate as Date, { finalPenalty: l.minorUnits });
        if (settled) {
          event('penalty_settled', 'devuelto', 'devuelto', l.returnDate as Date, {
            settlement: options.penalties,
            amount: l.minorUnits,
          });
        }
      }
    }
    await progress(Math.min(batch, p.loans.length - i) + events);
    newLoans.settle();
  }

  const copyEvent: Record<Exclude<CopyStatus, 'disponible'>, CopyEventType> = {
    prestado: 'loaned',
    mantenimiento: 'sent_to_maintenance',
    perdido: 'marked_lost',
    retirado: 'withdrawn',
  };
  for (const [id, c] of p.copies) {
    if (c.status === 'disponible') continue;
    tx.create(CopyEvent, {
      copy: copyIds.get(id) ?? id,
      type: copyEvent[c.status],
      fromStatus: 'disponible',
      toStatus: c.status,
      loan: c.heldBy ? (loans.get(c.heldBy.row.id) ?? null) : null,
      actor: null,
      at: c.heldBy?.approvalDate ?? now,
      note: `${FLASK_IMPORT_MARKER}: status at import`,
    });
  }
  await progress(w.copyEvents);

  for (let i = 0; i < p.tables.library_log.length; i += 500) {
    let n = 0;
    const newVisits = pending<LibraryLog>('library_log', null);
    for (const l of p.tables.library_log.slice(i, i + 500)) {
      const role = p.logRoles.get(l.id);
      if (!role) continue;
      const entry = parseNaiveUtc(l.entry_time);
      if (entry.subMs) p.report.subMillisecondDates++;
      const visit = tx.create(LibraryLog, {
        ...(keep ? { id: l.id } : {}),
        visitorName: l.visitor_name,
        visitorId: l.visitor_id,
        role,
        // The model's default is `utcnow`: a row without an instant has none to keep; the import time.
        entryTime: entry.date ?? now,
        activity: l.activity,
        user: documentIds.get(l.visitor_id) ?? null,
        recordedBy: null,
      });
      newVisits.add(l.id, visit);
      n++;
    }
    await progress(n);
    newVisits.settle();
  }

  if (keep && isPostgres(tx)) {
    for (const table of ['swl_user', 'swl_catalog', 'swl_item_instance', 'swl_loan', 'swl_library_log']) {
      await tx
        .getConnection()
        .execute(
          `select setval(pg_get_serial_sequence('${table}', 'id'), coalesce((select max(id) from ${table}), 0) + 1, false)`,
          [],
          'all',
          tx.getTransactionContext(),
        );
    }
  }
}
