/**
 * Hostile input, on SQLite and PostgreSQL.
 *
 * 1. Every public command of every service, one field at a time, gets values it must refuse: SQL
 *    fragments and wrong types in ids, enums, numbers and dates; NUL bytes, 1 MB strings, blank
 *    required text, lone UTF-16 surrogates; NaN, ±Infinity, negative, fractional, huge and BigInt numbers; invalid,
 *    offset-less, pre-1970 and far-future dates; unknown keys (also a JSON `__proto__` key), and
 *    inputs that are not objects at all → `VALIDATION_FAILED` with a small error (the 1 MB value is
 *    not echoed back), and not one row written in any table.
 * 2. Malformed acting users → `VALIDATION_FAILED`; well-formed but false ones (unknown id, a role
 *    the user does not have — also one inherited from the prototype —, a deactivated user) →
 *    `FORBIDDEN`, on every command; nothing written.
 * 3. Valid but hostile text in lookups (codes, logins, search words, exact filters): SQL fragments
 *    find nothing, `%` and `_` match only themselves.
 * 4. Text round-trips exactly: emoji (also ZWJ sequences), combining accents (NFD `e\u0301`),
 *    quotes, backslashes, `%`, `_`, `!`, right-to-left text and SQL fragments, stored through the
 *    services, come back byte-identical from the services' reads and from the database.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { HoldService } from '../../src/holds/hold.service.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import type { Actor } from '../../src/permissions.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import { UserService } from '../../src/users/user.service.ts';
import { VisitorLogService } from '../../src/visitors/visitor-log.service.ts';
import {
  describeEachDialect,
  expectSwlError,
  openServices,
  publicMethods,
  rowCounts,
  SERVICES,
  type Services,
  T0,
  useDesk,
} from '../support/fixtures.ts';

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

const MB = 'x'.repeat(1 << 20);
const SQL = ['1; drop table swl_loan; --', "' or '1'='1", '1 OR 1=1', "admin'--"];

/** Values every count/limit field refuses (all of them are integers with a range inside 0..2³¹−1). */
const BAD_INT = [
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e308,
  2 ** 31,
  Number.MAX_SAFE_INTEGER + 2,
  '5',
  null,
  true,
  {},
  [],
  [1],
  10n,
  ...SQL,
];
/**
 * Values every money field refuses: integer minor units 0..MAX_MONEY (2⁵³ − 1), so 2³¹ is a valid
 * amount there, and 2⁵³ is not.
 */
const BAD_MONEY = [...BAD_INT.filter((v) => v !== 2 ** 31), 2 ** 53];
/** Values a nullable money field refuses (`null` means "unknown" there). */
const BAD_NULLABLE_MONEY = BAD_MONEY.filter((v) => v !== null);
/** Values every id field refuses. */
const BAD_ID = [0, -0, ...BAD_INT];
/** Values every required text field refuses. */
const BAD_REQUIRED_TEXT = [
  '',
  '   ',
  '\t\n',
  'a\u0000b',
  '\u0000',
  'a\ud800b',
  '\udfff',
  MB,
  42,
  null,
  {},
  [],
  true,
];
/** Values every optional text field refuses (`null` and blank mean "none" there). */
const BAD_OPTIONAL_TEXT = ['a\u0000b', 'a\ud800b', '\udc00\ud800', `${MB}!`, 42, {}, [], true, Number.NaN];
const BAD_ENUM = [...SQL, 'ADMIN', ' admin', 'admin ', '', '%', '_', null, 0, {}, []];
const BAD_INSTANT = [
  'yesterday',
  '2026-02-30T00:00:00Z',
  '2026-03-02T13:00:00',
  '2026-03-02',
  '2026-03-02T25:00:00Z',
  '10000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '1969-12-31T23:59:59Z',
  new Date(Number.NaN),
  new Date(8.64e15),
  new Date(-1),
  1_767_225_600_000,
  "2026-03-02T13:00:00Z'; drop table swl_loan; --",
  null,
  {},
];
const BAD_BOOL = ['true', 'false', 1, 0, null, {}, 'yes'];
const BAD_PASSWORD = ['', 'short', 'x'.repeat(257), MB, 'long enough pass\u0000word', 42, null, {}];
const BAD_OFFERED_PASSWORD = ['', 'x'.repeat(257), MB, 42, null, {}];
const BAD_EMAIL = [
  'not-an-email',
  'a@',
  '@b.co',
  "x@example.com' OR '1'='1",
  `${MB}@x.co`,
  'a\u0000@x.co',
  42,
  {},
  true,
];

type Kind =
  | 'idList'
  | 'statusList'
  | 'holdStatusList'
  | 'noticeStatusList'
  | 'offsetMinutes'
  | 'int'
  | 'money'
  | 'nullableMoney'
  | 'id'
  | 'text'
  | 'optionalText'
  | 'enum'
  | 'instant'
  | 'bool'
  | 'password'
  | 'offeredPassword'
  | 'email'
  | 'idempotencyKey';
/** Values every idempotency key refuses (1–200 visible ASCII characters). */
const BAD_IDEMPOTENCY_KEY = [
  '',
  ' ',
  'a b',
  'ключ',
  'k'.repeat(201),
  'a\u0000b',
  '\t',
  MB,
  42,
  null,
  {},
  [],
  true,
];
/** Values every list of ids refuses (1–1000 ids): not a list, an empty one, a bad id in it, 1001 ids. */
const BAD_ID_LIST = [
  ...BAD_ID.filter((v) => !Array.isArray(v)),
  [],
  ...BAD_ID.map((v) => [1, v]),
  Array.from({ length: 1001 }, (_, k) => k + 1),
];
/** Values every list of reservation statuses refuses (1–5 statuses): a bare status, a bad one in it, six. */
const BAD_STATUS_LIST = [
  'solicitada',
  [],
  ...BAD_ENUM.map((v) => ['confirmada', v]),
  ['SOLICITADA'],
  Array.from({ length: 6 }, () => 'solicitada'),
  null,
  {},
  42,
];
/** Values every list of hold statuses refuses (1–5 statuses): a bare status, a bad one in it (a reservation's too), six. */
const BAD_HOLD_STATUS_LIST = [
  'en_espera',
  [],
  ...BAD_ENUM.map((v) => ['lista', v]),
  ['EN_ESPERA'],
  ['en_espera', 'solicitada'],
  Array.from({ length: 6 }, () => 'en_espera'),
  null,
  {},
  42,
];
/** Values every list of notice statuses refuses (1–5 statuses): a bare status, a bad one in it (a hold's too), six. */
const BAD_NOTICE_STATUS_LIST = [
  'fallido',
  [],
  ...BAD_ENUM.map((v) => ['enviado', v]),
  ['FALLIDO'],
  ['fallido', 'lista'],
  Array.from({ length: 6 }, () => 'fallido'),
  null,
  {},
  42,
];
/** Values a notice rule's offset refuses (an integer within ±525 600 minutes, one year): negatives are valid. */
const BAD_OFFSET_MINUTES = [
  ...BAD_INT.filter((v) => v !== -1),
  525_601,
  -525_601,
  -1.5,
  Number.MIN_SAFE_INTEGER - 2,
];
const BAD: Record<Kind, readonly unknown[]> = {
  offsetMinutes: BAD_OFFSET_MINUTES,
  noticeStatusList: BAD_NOTICE_STATUS_LIST,
  idList: BAD_ID_LIST,
  statusList: BAD_STATUS_LIST,
  holdStatusList: BAD_HOLD_STATUS_LIST,
  int: BAD_INT,
  money: BAD_MONEY,
  nullableMoney: BAD_NULLABLE_MONEY,
  id: BAD_ID,
  text: BAD_REQUIRED_TEXT,
  optionalText: BAD_OPTIONAL_TEXT,
  enum: BAD_ENUM,
  instant: BAD_INSTANT,
  bool: BAD_BOOL,
  password: BAD_PASSWORD,
  offeredPassword: BAD_OFFERED_PASSWORD,
  email: BAD_EMAIL,
  idempotencyKey: BAD_IDEMPOTENCY_KEY,
};

/** The longest prefix of `text` of at most `max` UTF-16 units that does not split a surrogate pair, trimmed. */
function prefixOf(text: string, max: number): string {
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max) break;
    out += char;
  }
  return out.trim();
}

/** A readable label for a hostile value (1 MB strings shortened). */
function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || value === undefined) return String(value);
  if (value instanceof Date) return `Date(${value.getTime()})`;
  const json = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 20)}…(${json.length} chars)` : json;
}

/** One public command: how to call it, a valid input, and the kind of each of its fields. */
interface Command {
  name: string;
  call: (s: Services, actor: unknown, input: unknown) => Promise<unknown>;
  /** Valid in shape (every field of it passes validation); the ids need not exist. */
  valid: Record<string, unknown>;
  fields: Record<string, Kind>;
  /** No acting user (`authenticate`). */
  anonymous?: boolean;
  /** An input that is valid and would reach the database (ids that exist), for the actor checks. */
  live?: (f: Fixture) => Record<string, unknown>;
}

const page = { limit: 'int', offset: 'int' } as const;
const copyOp = (op: 'sendToMaintenance' | 'repair' | 'markLost' | 'markFound' | 'withdrawCopy'): Command => ({
  name: `catalog.${op}`,
  call: (s, a, i) => s.catalog[op](a as Actor, i as never),
  valid: { copyId: 1, note: 'n', condition: 'c', expectedVersion: 1 },
  fields: {
    copyId: 'id',
    note: 'optionalText',
    condition: 'optionalText',
    expectedVersion: 'int',
    idempotencyKey: 'idempotencyKey',
  },
  live: (f) => ({ copyId: f.copyIds[1] }),
});

const COMMANDS: Command[] = [
  // LoanService
  {
    name: 'loans.request',
    call: (s, a, i) => s.loans.request(a as Actor, i as never),
    valid: {
      catalogEntryId: 1,
      environment: 'Aula',
      observation: 'o',
      requestedDueDate: '2026-03-03T00:00:00Z',
    },
    fields: {
      borrowerId: 'id',
      copyId: 'id',
      catalogEntryId: 'id',
      environment: 'optionalText',
      requestedDueDate: 'instant',
      observation: 'optionalText',
      idempotencyKey: 'idempotencyKey',
    },
    live: (f) => ({ catalogEntryId: f.entryId }),
  },
  {
    name: 'loans.approve',
    call: (s, a, i) => s.loans.approve(a as Actor, i as never),
    valid: { loanId: 1, copyId: 1, dueDate: '2026-03-03T00:00:00Z' },
    fields: { loanId: 'id', copyId: 'id', dueDate: 'instant', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ loanId: f.pendingLoanId }),
  },
  {
    name: 'loans.reject',
    call: (s, a, i) => s.loans.reject(a as Actor, i as never),
    valid: { loanId: 1, reason: 'r' },
    fields: { loanId: 'id', reason: 'text', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ loanId: f.pendingLoanId, reason: 'no' }),
  },
  {
    name: 'loans.cancel',
    call: (s, a, i) => s.loans.cancel(a as Actor, i as never),
    valid: { loanId: 1, reason: 'r' },
    fields: { loanId: 'id', reason: 'optionalText', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ loanId: f.pendingLoanId }),
  },
  {
    name: 'loans.renew',
    call: (s, a, i) => s.loans.renew(a as Actor, i as never),
    valid: { loanId: 1 },
    fields: { loanId: 'id', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ loanId: f.approvedLoanId }),
  },
  {
    name: 'loans.return',
    call: (s, a, i) => s.loans.return(a as Actor, i as never),
    valid: { loanId: 1, outcome: 'ok', condition: 'c', observation: 'o' },
    fields: {
      loanId: 'id',
      outcome: 'enum',
      condition: 'optionalText',
      observation: 'optionalText',
      idempotencyKey: 'idempotencyKey',
    },
    live: (f) => ({ loanId: f.approvedLoanId }),
  },
  {
    name: 'loans.settlePenalty',
    call: (s, a, i) => s.loans.settlePenalty(a as Actor, i as never),
    valid: { loanId: 1, settlement: 'paid', note: 'n' },
    fields: { loanId: 'id', settlement: 'enum', note: 'optionalText', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ loanId: f.approvedLoanId, settlement: 'paid' }),
  },
  {
    name: 'loans.getLoan',
    call: (s, a, i) => s.loans.getLoan(a as Actor, i as never),
    valid: { loanId: 1 },
    fields: { loanId: 'id' },
    live: (f) => ({ loanId: f.pendingLoanId }),
  },
  {
    name: 'loans.listBorrowerLoans',
    call: (s, a, i) => s.loans.listBorrowerLoans(a as Actor, i as never),
    valid: { borrowerId: 1, scope: 'all', limit: 10, offset: 0 },
    fields: { ...page, borrowerId: 'id', scope: 'enum' },
    live: (f) => ({ borrowerId: f.student.id }),
  },
  {
    name: 'loans.pendingQueue',
    call: (s, a, i) => s.loans.pendingQueue(a as Actor, i as never),
    valid: { limit: 10, offset: 0 },
    fields: { ...page },
    live: () => ({}),
  },
  {
    name: 'loans.overdueLoans',
    call: (s, a, i) => s.loans.overdueLoans(a as Actor, i as never),
    valid: { limit: 10, offset: 0, asOf: '2026-03-03T00:00:00Z' },
    fields: { ...page, asOf: 'instant' },
    live: () => ({}),
  },
  {
    name: 'loans.borrowerStanding',
    call: (s, a, i) => s.loans.borrowerStanding(a as Actor, i as never),
    valid: { borrowerId: 1 },
    fields: { borrowerId: 'id' },
    live: (f) => ({ borrowerId: f.student.id }),
  },
  // CatalogService
  {
    name: 'catalog.createEntry',
    call: (s, a, i) => s.catalog.createEntry(a as Actor, i as never),
    valid: {
      titleOrName: 'T',
      category: 'general',
      authorOrBrand: 'A',
      identifier: 'I',
      replacementCost: 0,
      copies: 1,
      condition: 'c',
    },
    fields: {
      titleOrName: 'text',
      category: 'enum',
      authorOrBrand: 'optionalText',
      identifier: 'optionalText',
      replacementCost: 'nullableMoney',
      copies: 'int',
      condition: 'optionalText',
      idempotencyKey: 'idempotencyKey',
    },
    live: () => ({ titleOrName: 'Never created', category: 'general', copies: 1 }),
  },
  {
    name: 'catalog.addCopies',
    call: (s, a, i) => s.catalog.addCopies(a as Actor, i as never),
    valid: { catalogEntryId: 1, count: 1, condition: 'c' },
    fields: {
      catalogEntryId: 'id',
      count: 'int',
      condition: 'optionalText',
      idempotencyKey: 'idempotencyKey',
    },
    live: (f) => ({ catalogEntryId: f.entryId, count: 1 }),
  },
  {
    name: 'catalog.updateEntry',
    call: (s, a, i) => s.catalog.updateEntry(a as Actor, i as never),
    valid: {
      catalogEntryId: 1,
      titleOrName: 'T',
      category: 'general',
      authorOrBrand: 'A',
      identifier: 'I',
      replacementCost: 1,
    },
    fields: {
      catalogEntryId: 'id',
      titleOrName: 'text',
      category: 'enum',
      authorOrBrand: 'optionalText',
      identifier: 'optionalText',
      replacementCost: 'nullableMoney',
    },
    live: (f) => ({ catalogEntryId: f.entryId, titleOrName: 'Renamed' }),
  },
  {
    name: 'catalog.search',
    call: (s, a, i) => s.catalog.search(a as Actor, i as never),
    valid: { text: 't', category: 'general', limit: 10, offset: 0 },
    fields: { ...page, text: 'optionalText', category: 'enum' },
    live: () => ({}),
  },
  {
    name: 'catalog.getEntry',
    call: (s, a, i) => s.catalog.getEntry(a as Actor, i as never),
    valid: { catalogEntryId: 1 },
    fields: { catalogEntryId: 'id' },
    live: (f) => ({ catalogEntryId: f.entryId }),
  },
  {
    name: 'catalog.listCopies',
    call: (s, a, i) => s.catalog.listCopies(a as Actor, i as never),
    valid: { catalogEntryId: 1, status: 'disponible', limit: 10, offset: 0 },
    fields: { ...page, catalogEntryId: 'id', status: 'enum' },
    live: (f) => ({ catalogEntryId: f.entryId }),
  },
  {
    name: 'catalog.getCopyByCode',
    call: (s, a, i) => s.catalog.getCopyByCode(a as Actor, i as never),
    valid: { code: 'MOU-1-1' },
    fields: { code: 'text' },
    live: (f) => ({ code: f.copyCode }),
  },
  {
    name: 'catalog.copyHistory',
    call: (s, a, i) => s.catalog.copyHistory(a as Actor, i as never),
    valid: { copyId: 1 },
    fields: { copyId: 'id' },
    live: (f) => ({ copyId: f.copyIds[0] }),
  },
  copyOp('sendToMaintenance'),
  copyOp('repair'),
  copyOp('markLost'),
  copyOp('markFound'),
  copyOp('withdrawCopy'),
  {
    name: 'catalog.withdrawEntry',
    call: (s, a, i) => s.catalog.withdrawEntry(a as Actor, i as never),
    valid: { catalogEntryId: 1, note: 'n' },
    fields: { catalogEntryId: 'id', note: 'optionalText', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ catalogEntryId: f.entryId }),
  },
  // UserService
  {
    name: 'users.createUser',
    call: (s, a, i) => s.users.createUser(a as Actor, i as never),
    valid: {
      documentId: 'D',
      fullName: 'N',
      email: 'n@example.edu',
      phone: '1',
      role: 'student',
      programName: 'P',
      password: 'correct horse battery',
      mustChangePassword: true,
    },
    fields: {
      documentId: 'text',
      fullName: 'text',
      email: 'email',
      phone: 'optionalText',
      role: 'enum',
      programName: 'optionalText',
      password: 'password',
      mustChangePassword: 'bool',
    },
    live: () => ({ documentId: 'never-created', fullName: 'Never Created' }),
  },
  {
    name: 'users.updateUser',
    call: (s, a, i) => s.users.updateUser(a as Actor, i as never),
    valid: { userId: 1, fullName: 'N', email: 'n@example.edu', phone: '1', programName: 'P' },
    fields: {
      userId: 'id',
      fullName: 'text',
      email: 'email',
      phone: 'optionalText',
      programName: 'optionalText',
    },
    live: (f) => ({ userId: f.student.id, fullName: 'Renamed' }),
  },
  {
    name: 'users.changeRole',
    call: (s, a, i) => s.users.changeRole(a as Actor, i as never),
    valid: { userId: 1, role: 'teacher' },
    fields: { userId: 'id', role: 'enum' },
    live: (f) => ({ userId: f.student.id, role: 'teacher' }),
  },
  {
    name: 'users.deactivate',
    call: (s, a, i) => s.users.deactivate(a as Actor, i as never),
    valid: { userId: 1_000_000 },
    fields: { userId: 'id' },
    live: (f) => ({ userId: f.student.id }),
  },
  {
    name: 'users.reactivate',
    call: (s, a, i) => s.users.reactivate(a as Actor, i as never),
    valid: { userId: 1 },
    fields: { userId: 'id' },
    live: (f) => ({ userId: f.student.id }),
  },
  {
    name: 'users.authenticate',
    anonymous: true,
    call: (s, _a, i) => s.users.authenticate(i as never),
    valid: { login: 'someone@example.edu', password: 'x' },
    fields: { login: 'text', password: 'offeredPassword' },
  },
  {
    name: 'users.changePassword',
    call: (s, a, i) => s.users.changePassword(a as Actor, i as never),
    valid: { userId: 1, currentPassword: 'current one', newPassword: 'correct horse battery' },
    fields: { userId: 'id', currentPassword: 'offeredPassword', newPassword: 'password' },
    live: () => ({ currentPassword: 'current password!', newPassword: 'correct horse battery' }),
  },
  {
    name: 'users.getUser',
    call: (s, a, i) => s.users.getUser(a as Actor, i as never),
    valid: { userId: 1 },
    fields: { userId: 'id' },
    live: (f) => ({ userId: f.student.id }),
  },
  {
    name: 'users.listUsers',
    call: (s, a, i) => s.users.listUsers(a as Actor, i as never),
    valid: { text: 't', role: 'student', active: true, limit: 10, offset: 0 },
    fields: { ...page, text: 'optionalText', role: 'enum', active: 'bool' },
    live: () => ({}),
  },
  // VisitorLogService
  {
    name: 'visits.recordVisit',
    call: (s, a, i) => s.visits.recordVisit(a as Actor, i as never),
    valid: {
      visitorName: 'V',
      visitorId: '1',
      role: 'visitor',
      activity: 'estudio',
      entryTime: '2026-03-01T00:00:00Z',
      userId: 1,
    },
    fields: {
      visitorName: 'text',
      visitorId: 'text',
      role: 'enum',
      activity: 'text',
      entryTime: 'instant',
      userId: 'id',
      idempotencyKey: 'idempotencyKey',
    },
    live: () => ({ visitorName: 'Never', visitorId: '1', role: 'visitor', activity: 'estudio' }),
  },
  {
    name: 'visits.list',
    call: (s, a, i) => s.visits.list(a as Actor, i as never),
    valid: {
      from: '2026-01-01T00:00:00Z',
      to: '2026-12-31T00:00:00Z',
      role: 'student',
      activity: 'a',
      visitorId: '1',
      limit: 10,
      offset: 0,
    },
    fields: { ...page, from: 'instant', to: 'instant', role: 'enum', activity: 'text', visitorId: 'text' },
    live: () => ({ from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' }),
  },
  {
    name: 'visits.statistics',
    call: (s, a, i) => s.visits.statistics(a as Actor, i as never),
    valid: { from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z', groupBy: 'day' },
    fields: { from: 'instant', to: 'instant', groupBy: 'enum' },
    live: () => ({ from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z', groupBy: 'role' }),
  },
  {
    name: 'visits.purge',
    call: (s, a, i) => s.visits.purge(a as Actor, i as never),
    valid: { olderThanDays: 365 },
    fields: { olderThanDays: 'int' },
    live: () => ({ olderThanDays: 1 }),
  },
  // PolicyService
  {
    name: 'policies.list',
    call: (s, a, i) => s.policies.list(a as Actor, i as never),
    valid: { category: 'general', role: 'student' },
    fields: { category: 'enum', role: 'enum' },
    live: () => ({}),
  },
  {
    name: 'policies.get',
    call: (s, a, i) => s.policies.get(a as Actor, i as never),
    valid: { category: 'general', role: 'student' },
    fields: { category: 'enum', role: 'enum' },
    live: () => ({ category: 'general', role: 'student' }),
  },
  {
    name: 'policies.upsert',
    call: (s, a, i) => s.policies.upsert(a as Actor, i as never),
    valid: {
      category: 'premium',
      role: 'student',
      loanPeriod: 1,
      loanPeriodUnit: 'hours',
      maxActiveLoans: 1,
      maxRenewals: 0,
      environmentRequired: true,
      fineAmount: 100,
      fineInterval: 'hour',
      gracePeriodMinutes: 0,
      graceMode: 'deduct',
      intervalRounding: 'down',
      maxFine: 0,
      capAtReplacementCost: true,
    },
    fields: {
      category: 'enum',
      role: 'enum',
      loanPeriod: 'int',
      loanPeriodUnit: 'enum',
      maxActiveLoans: 'int',
      maxRenewals: 'int',
      environmentRequired: 'bool',
      fineAmount: 'money',
      fineInterval: 'enum',
      gracePeriodMinutes: 'int',
      graceMode: 'enum',
      intervalRounding: 'enum',
      maxFine: 'money',
      capAtReplacementCost: 'bool',
    },
    live: () => ({
      category: 'premium',
      role: 'student',
      loanPeriod: 1,
      loanPeriodUnit: 'hours',
      maxActiveLoans: 1,
      maxRenewals: 0,
      fineAmount: 100,
      fineInterval: 'hour',
    }),
  },
  {
    name: 'policies.update',
    call: (s, a, i) => s.policies.update(a as Actor, i as never),
    valid: { category: 'general', role: 'student', maxRenewals: 1, loanPeriod: 3, expectedVersion: 1 },
    fields: {
      category: 'enum',
      role: 'enum',
      maxRenewals: 'int',
      loanPeriod: 'int',
      fineAmount: 'money',
      maxFine: 'money',
      environmentRequired: 'bool',
      expectedVersion: 'int',
    },
    live: () => ({ category: 'general', role: 'student', maxRenewals: 4 }),
  },
  {
    name: 'policies.delete',
    call: (s, a, i) => s.policies.delete(a as Actor, i as never),
    valid: { category: 'premium', role: 'teacher' },
    fields: { category: 'enum', role: 'enum' },
    live: () => ({ category: 'premium', role: 'teacher' }),
  },
  // ReservationService
  {
    name: 'reservations.reserve',
    call: (s, a, i) => s.reservations.reserve(a as Actor, i as never),
    valid: {
      borrowerId: 1,
      catalogEntryId: 1,
      quantity: 2,
      startsAt: '2026-03-03T08:00:00Z',
      endsAt: '2026-03-03T10:00:00Z',
      environment: 'Aula',
      note: 'n',
    },
    fields: {
      borrowerId: 'id',
      catalogEntryId: 'id',
      copyId: 'id',
      quantity: 'int',
      startsAt: 'instant',
      endsAt: 'instant',
      environment: 'optionalText',
      note: 'optionalText',
      idempotencyKey: 'idempotencyKey',
    },
    live: (f) => ({
      catalogEntryId: f.premiumEntryId,
      startsAt: '2026-03-03T08:00:00Z',
      endsAt: '2026-03-03T10:00:00Z',
    }),
  },
  {
    name: 'reservations.confirm',
    call: (s, a, i) => s.reservations.confirm(a as Actor, i as never),
    valid: { reservationId: 1 },
    fields: { reservationId: 'id', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ reservationId: f.reservationId }),
  },
  {
    name: 'reservations.cancel',
    call: (s, a, i) => s.reservations.cancel(a as Actor, i as never),
    valid: { reservationId: 1, reason: 'r' },
    fields: { reservationId: 'id', reason: 'optionalText', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ reservationId: f.reservationId }),
  },
  {
    name: 'reservations.pickUp',
    call: (s, a, i) => s.reservations.pickUp(a as Actor, i as never),
    valid: { reservationId: 1, copyIds: [1, 2] },
    fields: { reservationId: 'id', copyIds: 'idList', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ reservationId: f.reservationId }),
  },
  {
    name: 'reservations.recordNoShows',
    call: (s, a, i) => s.reservations.recordNoShows(a as Actor, i as never),
    valid: { limit: 10 },
    fields: { limit: 'int' },
    live: () => ({}),
  },
  {
    name: 'reservations.availability',
    call: (s, a, i) => s.reservations.availability(a as Actor, i as never),
    valid: { catalogEntryId: 1, from: '2026-03-02T00:00:00Z', to: '2026-03-09T00:00:00Z' },
    fields: { catalogEntryId: 'id', from: 'instant', to: 'instant' },
    live: (f) => ({
      catalogEntryId: f.premiumEntryId,
      from: '2026-03-02T00:00:00Z',
      to: '2026-03-09T00:00:00Z',
    }),
  },
  {
    name: 'reservations.getReservation',
    call: (s, a, i) => s.reservations.getReservation(a as Actor, i as never),
    valid: { reservationId: 1 },
    fields: { reservationId: 'id' },
    live: (f) => ({ reservationId: f.reservationId }),
  },
  {
    name: 'reservations.listReservations',
    call: (s, a, i) => s.reservations.listReservations(a as Actor, i as never),
    valid: { borrowerId: 1, catalogEntryId: 1, statuses: ['solicitada', 'recogida'], limit: 10, offset: 0 },
    fields: { ...page, borrowerId: 'id', catalogEntryId: 'id', statuses: 'statusList' },
    live: (f) => ({ catalogEntryId: f.premiumEntryId }),
  },
  {
    name: 'reservations.upsertPolicy',
    call: (s, a, i) => s.reservations.upsertPolicy(a as Actor, i as never),
    valid: {
      category: 'general',
      role: 'teacher',
      maxAdvanceDays: 7,
      maxDurationMinutes: 60,
      bufferMinutes: 0,
      pickupWindowMinutes: 15,
      approvalRequired: true,
    },
    fields: {
      category: 'enum',
      role: 'enum',
      maxAdvanceDays: 'int',
      maxDurationMinutes: 'int',
      bufferMinutes: 'int',
      pickupWindowMinutes: 'int',
      approvalRequired: 'bool',
    },
    live: () => ({
      category: 'general',
      role: 'teacher',
      maxAdvanceDays: 7,
      maxDurationMinutes: 60,
      pickupWindowMinutes: 15,
    }),
  },
  {
    name: 'reservations.listPolicies',
    call: (s, a, i) => s.reservations.listPolicies(a as Actor, i as never),
    valid: { category: 'premium', role: 'teacher' },
    fields: { category: 'enum', role: 'enum' },
    live: () => ({}),
  },
  // HoldService
  {
    name: 'holds.placeHold',
    call: (s, a, i) => s.holds.placeHold(a as Actor, i as never),
    valid: { catalogEntryId: 1, borrowerId: 1 },
    fields: { catalogEntryId: 'id', borrowerId: 'id', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ catalogEntryId: f.heldEntryId }),
  },
  {
    name: 'holds.cancelHold',
    call: (s, a, i) => s.holds.cancelHold(a as Actor, i as never),
    valid: { holdId: 1, reason: 'r' },
    fields: { holdId: 'id', reason: 'optionalText', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ holdId: f.holdId }),
  },
  {
    name: 'holds.fulfillHold',
    call: (s, a, i) => s.holds.fulfillHold(a as Actor, i as never),
    valid: { holdId: 1 },
    fields: { holdId: 'id', idempotencyKey: 'idempotencyKey' },
    live: (f) => ({ holdId: f.holdId }),
  },
  {
    name: 'holds.expireHolds',
    call: (s, a, i) => s.holds.expireHolds(a as Actor, i as never),
    valid: { limit: 10 },
    fields: { limit: 'int' },
    live: () => ({}),
  },
  {
    name: 'holds.holdQueue',
    call: (s, a, i) => s.holds.holdQueue(a as Actor, i as never),
    valid: { catalogEntryId: 1 },
    fields: { catalogEntryId: 'id' },
    live: (f) => ({ catalogEntryId: f.heldEntryId }),
  },
  {
    name: 'holds.getHold',
    call: (s, a, i) => s.holds.getHold(a as Actor, i as never),
    valid: { holdId: 1 },
    fields: { holdId: 'id' },
    live: (f) => ({ holdId: f.holdId }),
  },
  {
    name: 'holds.listHolds',
    call: (s, a, i) => s.holds.listHolds(a as Actor, i as never),
    valid: { borrowerId: 1, statuses: ['en_espera', 'lista'], limit: 10, offset: 0 },
    fields: { ...page, borrowerId: 'id', statuses: 'holdStatusList' },
    live: (f) => ({ borrowerId: f.student.id }),
  },
  // ReportService
  {
    name: 'reports.overdueByBorrower',
    call: (s, a, i) => s.reports.overdueByBorrower(a as Actor, i as never),
    valid: { asOf: '2026-03-02T13:00:00Z', limit: 10, offset: 0 },
    fields: { ...page, asOf: 'instant' },
    live: () => ({}),
  },
  {
    name: 'reports.availability',
    call: (s, a, i) => s.reports.availability(a as Actor, i as never),
    valid: {
      from: '2026-03-01T00:00:00Z',
      to: '2026-04-01T00:00:00Z',
      catalogEntryIds: [1],
      category: 'premium',
      limit: 10,
      offset: 0,
    },
    fields: { ...page, from: 'instant', to: 'instant', catalogEntryIds: 'idList', category: 'enum' },
    live: (f) => ({
      from: '2026-03-01T00:00:00Z',
      to: '2026-04-01T00:00:00Z',
      catalogEntryIds: [f.premiumEntryId],
    }),
  },
  {
    name: 'reports.loansPerMonth',
    call: (s, a, i) => s.reports.loansPerMonth(a as Actor, i as never),
    valid: { from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' },
    fields: { from: 'instant', to: 'instant' },
    live: () => ({ from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' }),
  },
  {
    name: 'reports.visits',
    call: (s, a, i) => s.reports.visits(a as Actor, i as never),
    valid: { from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z', groupBy: 'day' },
    fields: { from: 'instant', to: 'instant', groupBy: 'enum' },
    live: () => ({ from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z', groupBy: 'activity' }),
  },
  {
    name: 'reports.topBorrowed',
    call: (s, a, i) => s.reports.topBorrowed(a as Actor, i as never),
    valid: { from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z', category: 'general', limit: 5 },
    fields: { from: 'instant', to: 'instant', category: 'enum', limit: 'int' },
    live: () => ({ from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' }),
  },
  {
    name: 'reports.copiesOutOfService',
    call: (s, a, i) => s.reports.copiesOutOfService(a as Actor, i as never),
    valid: { status: 'perdido', category: 'general', limit: 10, offset: 0 },
    fields: { ...page, status: 'enum', category: 'enum' },
    live: () => ({}),
  },
  // NoticeService
  {
    name: 'notices.listRules',
    call: (s, a, i) => s.notices.listRules(a as Actor, i as never),
    valid: { category: 'general', role: 'student' },
    fields: { category: 'enum', role: 'enum' },
    live: () => ({}),
  },
  {
    name: 'notices.upsertRule',
    call: (s, a, i) => s.notices.upsertRule(a as Actor, i as never),
    valid: {
      category: 'general',
      role: 'student',
      trigger: 'loan_due',
      offsetMinutes: -30,
      templateKey: 'k',
    },
    fields: {
      category: 'enum',
      role: 'enum',
      trigger: 'enum',
      offsetMinutes: 'offsetMinutes',
      templateKey: 'text',
    },
    live: () => ({
      category: 'general',
      role: 'student',
      trigger: 'loan_due',
      offsetMinutes: -30,
      templateKey: 'k',
    }),
  },
  {
    name: 'notices.removeRule',
    call: (s, a, i) => s.notices.removeRule(a as Actor, i as never),
    valid: { ruleId: 1 },
    fields: { ruleId: 'id' },
    live: () => ({ ruleId: 2_000_000 }),
  },
  {
    name: 'notices.due',
    call: (s, a, i) => s.notices.due(a as Actor, i as never),
    valid: { asOf: '2026-03-02T13:00:00Z', limit: 10 },
    fields: { asOf: 'instant', limit: 'int' },
    live: () => ({}),
  },
  {
    name: 'notices.claim',
    call: (s, a, i) => s.notices.claim(a as Actor, i as never),
    valid: { limit: 10 },
    fields: { limit: 'int' },
    live: () => ({}),
  },
  {
    name: 'notices.markSent',
    call: (s, a, i) => s.notices.markSent(a as Actor, i as never),
    valid: { digestId: 'd.1' },
    fields: { digestId: 'text' },
    live: () => ({ digestId: 'd.1' }),
  },
  {
    name: 'notices.markFailed',
    call: (s, a, i) => s.notices.markFailed(a as Actor, i as never),
    valid: { digestId: 'd.1', error: 'smtp' },
    fields: { digestId: 'text', error: 'text' },
    live: () => ({ digestId: 'd.1', error: 'smtp' }),
  },
  {
    name: 'notices.listNotices',
    call: (s, a, i) => s.notices.listNotices(a as Actor, i as never),
    valid: { statuses: ['fallido'], borrowerId: 1, limit: 10, offset: 0 },
    fields: { ...page, statuses: 'noticeStatusList', borrowerId: 'id' },
    live: () => ({}),
  },
];

interface Fixture {
  student: Actor;
  inactiveAdmin: Actor;
  entryId: number;
  copyIds: number[];
  copyCode: string;
  pendingLoanId: number;
  approvedLoanId: number;
  /** A premium entry with two copies, and a teacher's booking of it (`solicitada`). */
  premiumEntryId: number;
  reservationId: number;
  /** A general entry whose only copy is on a teacher's loan, and another student's hold on it (`en_espera`). */
  heldEntryId: number;
  holdId: number;
}

describe('hostile-input corpus covers every public command', () => {
  it('names every public method of every service', () => {
    const listed = new Set(COMMANDS.map((c) => c.name));
    for (const [prefix, service] of Object.entries(SERVICES)) {
      for (const method of publicMethods(service)) {
        expect(listed, `${prefix}.${method} is missing from the corpus`).toContain(`${prefix}.${method}`);
      }
    }
  });
});

describeEachDialect('hostile input', (dialect) => {
  const desk = useDesk(dialect);
  let f: Fixture;
  const clock = new ManualClock(T0);
  const services = () => openServices(desk.orm, { clock });

  beforeAll(async () => {
    const student = await desk.user('student');
    const inactiveAdmin = await desk.user('admin', { active: false });
    const entry = await desk.entry('general', 3);
    const loans = new LoanService(desk.em(), { clock });
    const pending = await loans.request(student, { catalogEntryId: entry.id });
    const approved = await loans.request(student, { catalogEntryId: entry.id });
    await loans.approve(desk.staff, { loanId: approved.id });
    const premium = await desk.entry('premium', 2);
    const booking = await new ReservationService(desk.em(), { clock }).reserve(desk.admin, {
      borrowerId: (await desk.user('teacher')).id,
      catalogEntryId: premium.id,
      startsAt: '2026-03-03T08:00:00Z',
      endsAt: '2026-03-03T10:00:00Z',
    });
    const held = await desk.entry('general', 1);
    const lent = await loans.request(await desk.user('teacher'), { catalogEntryId: held.id });
    await loans.approve(desk.staff, { loanId: lent.id });
    const hold = await new HoldService(desk.em(), { clock }).placeHold(await desk.user('student'), {
      catalogEntryId: held.id,
    });
    f = {
      student,
      inactiveAdmin,
      entryId: entry.id,
      copyIds: entry.copies,
      copyCode: `TST-${entry.id}-3`,
      pendingLoanId: pending.id,
      approvedLoanId: approved.id,
      premiumEntryId: premium.id,
      reservationId: booking.id,
      heldEntryId: held.id,
      holdId: hold.id,
    };
  });

  it('refuses hostile values in every field of every command with VALIDATION_FAILED, writing nothing', async () => {
    const before = await rowCounts(desk.orm);
    let calls = 0;
    for (const command of COMMANDS) {
      const s = services();
      for (const [field, kind] of Object.entries(command.fields)) {
        for (const value of BAD[kind]) {
          const input = { ...command.valid, [field]: value };
          const label = `${command.name} ${field}=${show(value)}`;
          const error = await expectSwlError(
            () => command.call(s, desk.admin, input),
            'VALIDATION_FAILED',
            label,
          );
          expect(JSON.stringify(error).length, `${label}: the error echoes the input`).toBeLessThan(4000);
          calls += 1;
        }
      }
      // Unknown keys (also a `__proto__` key as JSON.parse makes it) and inputs that are not objects.
      const extra = [
        { ...command.valid, isAdmin: true },
        JSON.parse(`{"__proto__": {"isAdmin": true}, ${JSON.stringify(command.valid).slice(1)}`),
        null,
        'loanId=1',
        42,
        [command.valid],
      ];
      for (const input of extra) {
        const label = `${command.name} input=${show(input)}`;
        await expectSwlError(() => command.call(s, desk.admin, input), 'VALIDATION_FAILED', label);
        calls += 1;
      }
    }
    expect(calls).toBeGreaterThan(2000);
    expect(await rowCounts(desk.orm)).toEqual(before);
  });

  it('refuses malformed acting users with VALIDATION_FAILED and false ones with FORBIDDEN, on every command', async () => {
    const before = await rowCounts(desk.orm);
    const malformed: unknown[] = [
      null,
      undefined,
      {},
      'admin',
      { id: String(desk.admin.id), role: 'admin' },
      { id: desk.admin.id, role: 'root' },
      { id: desk.admin.id, role: 'ADMIN' },
      { id: desk.admin.id },
      { id: -1, role: 'admin' },
      { id: 1.5, role: 'admin' },
      { id: Number.NaN, role: 'admin' },
      { id: BigInt(desk.admin.id), role: 'admin' },
      { id: desk.admin.id, role: 'admin', extra: true },
      JSON.parse(`{"id": ${f.student.id}, "role": "student", "__proto__": {"role": "admin"}}`),
    ];
    const falseActors: Array<[string, unknown]> = [
      ['an unknown user', { id: 1_999_999_999, role: 'admin' }],
      ['a student claiming to be admin', { id: f.student.id, role: 'admin' }],
      [
        'a role inherited from the prototype',
        Object.assign(Object.create({ role: 'admin' }), { id: f.student.id }),
      ],
      ['a deactivated admin', f.inactiveAdmin],
    ];
    for (const command of COMMANDS) {
      if (command.anonymous || !command.live) continue;
      const input = command.live(f);
      for (const actor of malformed) {
        const label = `${command.name} actor=${show(actor)}`;
        await expectSwlError(() => command.call(services(), actor, input), 'VALIDATION_FAILED', label);
      }
      for (const [who, actor] of falseActors) {
        const label = `${command.name} by ${who}`;
        await expectSwlError(() => command.call(services(), actor, input), 'FORBIDDEN', label);
      }
    }
    expect(await rowCounts(desk.orm)).toEqual(before);
  });

  it('throwing getters and throwing Proxies as acting user or input are SwlError VALIDATION_FAILED on every command (issue 10, defect 7: raw errors escaped authorize())', async () => {
    const before = await rowCounts(desk.orm);
    const boom = () => {
      throw new TypeError('boom from a getter');
    };
    const trap = new Proxy(
      {},
      { get: boom, has: boom, ownKeys: boom, getOwnPropertyDescriptor: boom, getPrototypeOf: boom },
    );
    const withThrowingGetter = (base: Record<string, unknown>, key: string) =>
      Object.defineProperty({ ...base }, key, { get: boom, enumerable: true });
    let calls = 0;
    for (const command of COMMANDS) {
      const input = command.live ? command.live(f) : command.valid;
      const cases: Array<[string, unknown, unknown]> = [
        ['input is a throwing Proxy', desk.admin, trap],
        ...Object.keys(command.fields).map((field): [string, unknown, unknown] => [
          `input.${field} getter throws`,
          desk.admin,
          withThrowingGetter(input, field),
        ]),
      ];
      if (!command.anonymous) {
        cases.push(['actor is a throwing Proxy', trap, input]);
        cases.push(['actor.id getter throws', withThrowingGetter({ ...desk.admin }, 'id'), input]);
        cases.push(['actor.role getter throws', withThrowingGetter({ ...desk.admin }, 'role'), input]);
      }
      for (const [what, actor, value] of cases) {
        const label = `${command.name}: ${what}`;
        await expectSwlError(() => command.call(services(), actor, value), 'VALIDATION_FAILED', label);
        calls += 1;
      }
    }
    expect(calls).toBeGreaterThan(100);
    expect(await rowCounts(desk.orm)).toEqual(before);
  });

  it('finds nothing for SQL fragments in lookups, and matches % and _ only literally', async () => {
    const before = await rowCounts(desk.orm);
    const s = services();
    const nasty = [...SQL, '%', '_', '%%', '!%', "' OR ''='", '*', '\\', '\\%'];
    for (const text of nasty) {
      await expectSwlError(s.catalog.getCopyByCode(desk.admin, { code: text }), 'NOT_FOUND', `code ${text}`);
      for (const login of [text, `${text}@example.edu`]) {
        await expectSwlError(
          s.users.authenticate({ login, password: 'whatever it is' }),
          'AUTH_FAILED',
          `login ${login}`,
        );
      }
      const visits = await s.visits.list(desk.admin, {
        from: '1970-01-01T00:00:00Z',
        to: '9999-01-01T00:00:00Z',
        visitorId: prefixOf(text, 20),
        activity: prefixOf(text, 50),
      });
      expect(visits.total, `visitorId ${text}`).toBe(0);
    }
    // Search: every hit really contains the character; a lone wildcard does not match everything.
    const all = await s.catalog.search(desk.admin, { limit: 500 });
    expect(all.total).toBeGreaterThan(0);
    for (const char of ['%', '_', '!']) {
      const hits = await s.catalog.search(desk.admin, { text: char, limit: 500 });
      expect(hits.total, `search ${char}`).toBeLessThan(all.total);
      for (const hit of hits.items) {
        expect(`${hit.titleOrName} ${hit.authorOrBrand ?? ''} ${hit.identifier ?? ''}`).toContain(char);
      }
      const users = await s.users.listUsers(desk.admin, { text: char, limit: 500 });
      for (const u of users.items) expect(`${u.documentId} ${u.fullName} ${u.email ?? ''}`).toContain(char);
    }
    for (const text of SQL) {
      expect((await s.catalog.search(desk.admin, { text })).total, `search ${text}`).toBe(0);
      expect((await s.users.listUsers(desk.admin, { text })).total, `listUsers ${text}`).toBe(0);
    }
    expect(await rowCounts(desk.orm)).toEqual(before);
  });

  describe('regressions found by this corpus', () => {
    it('LoanService reads refuse an unknown, deactivated or re-roled acting user (they did not load it)', async () => {
      const loans = () => new LoanService(desk.em(), { clock });
      for (const actor of [
        { id: 1_999_999_999, role: 'admin' as const },
        f.inactiveAdmin,
        { id: f.student.id, role: 'staff' as const },
      ]) {
        for (const read of [
          () => loans().getLoan(actor, { loanId: f.pendingLoanId }),
          () => loans().listBorrowerLoans(actor, { borrowerId: f.student.id }),
          () => loans().pendingQueue(actor),
          () => loans().overdueLoans(actor),
          () => loans().borrowerStanding(actor, { borrowerId: f.student.id }),
        ]) {
          await expectSwlError(read(), 'FORBIDDEN');
        }
      }
    });

    it('an unparseable period in visits.list/statistics is VALIDATION_FAILED, not a raw TypeError', async () => {
      const visits = new VisitorLogService(desk.em(), { clock });
      for (const period of [
        { from: 'yesterday', to: '2026-12-31T00:00:00Z' },
        { from: '2026-01-01T00:00:00Z', to: null },
      ]) {
        await expectSwlError(visits.list(desk.admin, period as never), 'VALIDATION_FAILED');
        await expectSwlError(
          visits.statistics(desk.admin, { ...period, groupBy: 'day' } as never),
          'VALIDATION_FAILED',
        );
      }
    });

    it('text with a lone surrogate is refused, not stored as U+FFFD', async () => {
      const before = await rowCounts(desk.orm);
      const users = new UserService(desk.em(), { clock });
      await expectSwlError(
        users.createUser(desk.admin, { documentId: 'lone-\ud800', fullName: 'Lone' }),
        'VALIDATION_FAILED',
      );
      await expectSwlError(
        users.createUser(desk.admin, { documentId: 'lone-1', fullName: 'a\udc00b' }),
        'VALIDATION_FAILED',
      );
      expect(await rowCounts(desk.orm)).toEqual(before);
    });
  });

  /** Text that must come back exactly as it went in. */
  const TEXTS = {
    emoji: 'Cámara 📷 Sony 😀 👩‍👩‍👧‍👦',
    nfd: 'Jose\u0301 Pe\u0301rez — cafe\u0301',
    quotes: `O'Brien "Bob" ‘curly’ «angle» \`tick\``,
    backslashes: "C:\\path\\to\\file \\n \\0 \\\\ it\\'s",
    wildcards: '100% _real_ !bang %_!',
    sql: "'); drop table swl_user; --",
    rtl: 'مرحبا بالعالم ‏שלום',
    zeroWidth: 'a\u200bb\u200dc',
  };

  it('round-trips emoji, combining accents, quotes, backslashes and wildcards byte for byte', async () => {
    const s = services();
    const raw = async (sql: string, id: number) =>
      (await desk.em().getConnection().execute<Record<string, unknown>[]>(sql, [id]))[0] ?? {};
    const same = (got: unknown, want: string, label: string) => {
      expect(got, label).toBe(want);
      expect(Buffer.from(String(got), 'utf8').equals(Buffer.from(want, 'utf8')), label).toBe(true);
    };
    const entryIds = new Map<string, number>();

    for (const [name, text] of Object.entries(TEXTS)) {
      // Users: name, phone-sized and programme fields; the document id where it fits (≤ 20).
      const documentId = prefixOf(`${name.slice(0, 3)}${text}`, 20);
      const user = await s.users.createUser(desk.admin, {
        documentId,
        fullName: text,
        programName: `${text} ${name}`,
        role: 'teacher',
      });
      same(user.fullName, text, `${name}: createUser`);
      const read = await s.users.getUser(desk.admin, { userId: user.id });
      same(read.fullName, text, `${name}: getUser`);
      same(read.documentId, documentId, `${name}: documentId`);
      same(read.programName, `${text} ${name}`, `${name}: programName`);
      same(
        (await raw('select full_name from swl_user where id = ?', user.id)).full_name,
        text,
        `${name}: SQL`,
      );
      const renamed = `${text} (2)`;
      await s.users.updateUser(desk.admin, { userId: user.id, fullName: renamed });
      same((await s.users.getUser(desk.admin, { userId: user.id })).fullName, renamed, `${name}: updateUser`);
      const listed = await s.users.listUsers(desk.admin, { text: documentId, limit: 500 });
      expect(
        listed.items.map((u) => u.id),
        `${name}: listUsers by document id`,
      ).toContain(user.id);

      // Catalog: title, author, identifier (≤ 50), copy condition, event note.
      const { entry, copies } = await s.catalog.createEntry(desk.admin, {
        titleOrName: text,
        authorOrBrand: `${text}!`,
        identifier: prefixOf(text, 50),
        category: 'general',
        replacementCost: 1000,
        copies: 2,
        condition: prefixOf(text, 100),
      });
      entryIds.set(name, entry.id);
      const got = await s.catalog.getEntry(desk.admin, { catalogEntryId: entry.id });
      same(got.titleOrName, text, `${name}: getEntry title`);
      same(got.authorOrBrand, `${text}!`, `${name}: author`);
      same(got.identifier, prefixOf(text, 50), `${name}: identifier`);
      same(
        (await raw('select title_or_name from swl_catalog where id = ?', entry.id)).title_or_name,
        text,
        `${name}: SQL title`,
      );
      const copy = copies[0] as { id: number; code: string };
      const shelf = await s.catalog.listCopies(desk.admin, { catalogEntryId: entry.id });
      same(shelf.items[0]?.condition, prefixOf(text, 100), `${name}: condition`);
      await s.catalog.sendToMaintenance(desk.admin, {
        copyId: copy.id,
        note: text,
        condition: `${text}?`,
      });
      const history = await s.catalog.copyHistory(desk.admin, { copyId: copy.id });
      same(history.at(-1)?.note, text, `${name}: copy note`);
      same(
        (await s.catalog.getCopyByCode(desk.admin, { code: copy.code })).condition,
        `${text}?`,
        `${name}: copy`,
      );
      await s.catalog.updateEntry(desk.admin, { catalogEntryId: entry.id, titleOrName: `${text} v2` });
      same(
        (await s.catalog.getEntry(desk.admin, { catalogEntryId: entry.id })).titleOrName,
        `${text} v2`,
        name,
      );

      // Loans: environment (≤ 50), observation, rejection and cancellation reasons, return
      // observation, settlement note (kept in the event's JSON data).
      const borrower = { id: user.id, role: 'teacher' as const };
      const loan = await s.loans.request(borrower, {
        catalogEntryId: entry.id,
        environment: prefixOf(text, 50),
        observation: text,
      });
      const cancelled = await s.loans.request(borrower, { catalogEntryId: entry.id });
      await s.loans.cancel(borrower, { loanId: cancelled.id, reason: text });
      const rejected = await s.loans.request(borrower, { catalogEntryId: entry.id });
      await s.loans.reject(desk.staff, { loanId: rejected.id, reason: `${text}.` });
      await s.loans.approve(desk.staff, { loanId: loan.id });
      await s.loans.return(desk.staff, {
        loanId: loan.id,
        outcome: 'lost',
        observation: `${text} returned`,
      });
      await s.loans.settlePenalty(desk.staff, { loanId: loan.id, settlement: 'waived', note: text });
      const details = await s.loans.getLoan(borrower, { loanId: loan.id });
      same(details.environment, prefixOf(text, 50), `${name}: environment`);
      same(details.observation, `${text} returned`, `${name}: observation`);
      same(details.events.at(-1)?.data?.note, text, `${name}: settlement note (JSON)`);
      same(
        (await s.loans.getLoan(borrower, { loanId: cancelled.id })).rejectionReason,
        text,
        `${name}: cancel`,
      );
      same(
        (await s.loans.getLoan(borrower, { loanId: rejected.id })).rejectionReason,
        `${text}.`,
        `${name}: reject`,
      );
      const mine = await s.loans.listBorrowerLoans(borrower, { scope: 'all' });
      expect(mine.items.map((l) => l.id).sort()).toEqual([loan.id, cancelled.id, rejected.id].sort());

      // Reservations: environment (≤ 50), note, cancellation reason (also in the event's JSON data).
      const kit = await s.catalog.createEntry(desk.admin, {
        titleOrName: `Booked kit ${name}`,
        category: 'premium',
        copies: 1,
      });
      const booking = await s.reservations.reserve(borrower, {
        catalogEntryId: kit.entry.id,
        startsAt: '2026-03-03T08:00:00Z',
        endsAt: '2026-03-03T10:00:00Z',
        environment: prefixOf(text, 50),
        note: text,
      });
      same(booking.note, text, `${name}: reserve`);
      await s.reservations.cancel(borrower, { reservationId: booking.id, reason: `${text}.` });
      const held = await s.reservations.getReservation(borrower, { reservationId: booking.id });
      same(held.environment, prefixOf(text, 50), `${name}: booking environment`);
      same(held.note, text, `${name}: booking note`);
      same(held.cancelReason, `${text}.`, `${name}: cancel reason`);
      same(held.events.at(-1)?.data?.reason, `${text}.`, `${name}: cancel reason (JSON)`);
      same(
        (await raw('select note from swl_reservation where id = ?', booking.id)).note,
        text,
        `${name}: SQL booking note`,
      );

      // Holds: cancellation reason (also in the event's JSON data). The title's only copy is in
      // maintenance, so none can be lent now and a hold may be placed.
      const title = await s.catalog.createEntry(desk.admin, {
        titleOrName: `Held title ${name}`,
        category: 'general',
        copies: 1,
      });
      await s.catalog.sendToMaintenance(desk.admin, { copyId: (title.copies[0] as { id: number }).id });
      const hold = await s.holds.placeHold(borrower, { catalogEntryId: title.entry.id });
      await s.holds.cancelHold(borrower, { holdId: hold.id, reason: text });
      const dropped = await s.holds.getHold(borrower, { holdId: hold.id });
      same(dropped.cancelReason, text, `${name}: hold cancel reason`);
      same(dropped.events.at(-1)?.data?.reason, text, `${name}: hold cancel reason (JSON)`);
      same(
        (await raw('select cancel_reason from swl_hold where id = ?', hold.id)).cancel_reason,
        text,
        `${name}: SQL hold cancel reason`,
      );

      // Visitor log: name, document (≤ 20), activity (≤ 50), found again by the exact filters.
      const visitorId = prefixOf(text, 20);
      const activity = prefixOf(text, 50);
      const visit = await s.visits.recordVisit(desk.staff, {
        visitorName: text,
        visitorId,
        activity,
        role: 'visitor',
      });
      same(visit.visitorName, text, `${name}: visit`);
      const found = await s.visits.list(desk.staff, {
        from: '2026-01-01T00:00:00Z',
        to: '2027-01-01T00:00:00Z',
        visitorId,
        activity,
      });
      expect(
        found.items.map((v) => v.id),
        `${name}: visits by exact visitor id and activity`,
      ).toEqual([visit.id]);
      same(found.items[0]?.visitorName, text, `${name}: listed visit`);
    }

    // The catalog search finds each entry by its own words, accents and wildcards included.
    const search = async (text: string) =>
      (await s.catalog.search(desk.admin, { text, limit: 500 })).items.map((e) => e.id);
    expect(await search('100%')).toEqual([entryIds.get('wildcards')]);
    expect(await search('_real_')).toEqual([entryIds.get('wildcards')]);
    expect(await search('📷')).toEqual([entryIds.get('emoji')]);
    expect(await search('José')).toEqual([entryIds.get('nfd')]);
    expect(await search("O'Brien")).toEqual([entryIds.get('quotes')]);
    expect(await search('C:\\path')).toEqual([entryIds.get('backslashes')]);
  });
});
