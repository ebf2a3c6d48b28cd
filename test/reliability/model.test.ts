/**
 * Model-based property tests of the lending desk.
 *
 * fast-check generates random sequences of commands by random actors — loan requests (by copy and
 * by title, for oneself or for someone else), approvals (with and without a chosen copy),
 * rejections, cancellations, renewals, returns (ok / damaged / lost), penalty settlements
 * (paid / waived), the direct copy operations (maintenance, repair, lost, found), deactivating and
 * reactivating users, policy edits, deletions and re-creations (amounts up to `MAX_MONEY`),
 * reservations (issue 16: bookings of the premium entry — 1–3 units, or a named copy — by the
 * borrower or by the desk for a borrower, on whole hours within the next two days, 1–6 h long, now
 * and then in the past, 31 days ahead or 9 h long; confirmations, cancellations, pickups, the
 * no-show sweep), holds (issue 16: placed by a borrower for themselves or by the desk for a
 * borrower — mostly on an entry none of whose copies can be lent now —, cancelled by their borrower
 * or by anyone, fulfilled, the expiry sweep), and clock advances (some to the next booking's start +
 * 0/10/29/30 min: its start, its pickup window, its deadline; some to a hold's pickup deadline or a
 * minute before it) — and runs them against the real services and against a small in-memory model
 * written below. The model fixes a loan's terms at approval (docs/DESIGN.md §11: renewals and the fine at
 * return follow them, whatever happens to the policy later), caps a fine only at a known
 * replacement cost (an unknown one, `null`, is no cap and is charged 0 for a lost copy, reported
 * as `replacementCostUnknown`), and holds every amount at `MAX_MONEY`. The model predicts, for every command, success or the exact
 * error code. After every step the database must agree with the model (loan and copy statuses,
 * copies held, request/approval/due/return dates, renewals, terms, penalties, settlements, events
 * per loan, users' active flags, policies) and the invariants
 * must hold, checked with SQL:
 *
 * - a copy is `prestado` iff exactly one `aprobado` loan holds it (never two);
 * - no loan leaves a terminal state (`devuelto`, `rechazado`) — compared with the previous step;
 * - every loan transition has exactly one `LoanEvent`, and a loan's last event leads to its status;
 * - penalties are integers in 0..MAX_MONEY and `finalPenalty = min(overdueFine + replacementCharge,
 *   MAX_MONEY)` (read back exactly, as 64-bit integers, on both databases);
 * - returned loans have return ≥ approval ≥ request dates; approved loans have a copy and dates;
 * - the stock invariant below counts `lista` holds as commitments too;
 * - every reservation transition has exactly one `swl_reservation_event` (its last one leads to the
 *   status), and no reservation leaves a terminal status (`recogida`, `cancelada`, `no_recogida`);
 * - a named copy never has two overlapping holding bookings;
 * - no instant with more commitments than copies: for each entry, at every instant where a holding
 *   booking starts or an approved loan was approved, and at now, the units of the holding bookings
 *   over `[starts_at, blocks_until)` plus the approved loans (from approval to due + the buffer of
 *   their borrower's booking policy, for ever once overdue) stay within the copies `disponible` or
 *   `prestado`. Two things outside the desk's control break the letter of this — a loan that goes
 *   overdue holds its copy for ever, and a copy leaves the stock (maintenance, lost, a damaged or
 *   lost return: reserve ×2 of 2 copies, then markLost one) — so after those steps an entry may be
 *   over; after any other step no instant may be over, or more over, than before (no command adds
 *   to an over-commitment; with neither event in a run, that is the invariant exactly).
 *
 * The reservation model (src/reservations/): a booking holds its units over `[startsAt, endsAt +
 * buffer)`, an approved loan one unit from approval to due + buffer (for ever once overdue), the
 * buffer being the seeded booking policy's for the borrower's role (15 min for premium × teacher /
 * staff / admin, 0 for students and general items; the steps never edit booking policies). A
 * booking succeeds iff committed + quantity ≤ capacity (copies `disponible` or `prestado`) at every
 * instant of its range and, for a named copy, no other booking or loan of that copy overlaps; the
 * refusals and their order follow `ReservationService.reserve`. Loan approvals get their due date
 * capped at the first booked instant − buffer, or `COPY_UNAVAILABLE` when that leaves under 60 min;
 * renewals that would run into a booking get `HOLD_PENDING`; a pickup makes one approved loan per
 * copy (the named one, else the first available copies not held by another named booking), due at
 * the booking's end. Every outcome is predicted exactly (no "one of" codes).
 *
 * The holds model (src/holds/): `placeHold` succeeds only when no copy can be lent now (none
 * `disponible` and not set aside, or the stock committed in full now), else `INVALID_TRANSITION`;
 * `DUPLICATE` when the borrower has the title on loan or an active hold for it; waiting holds are
 * served first come, first served by (placedAt, id). A copy checked in `ok`, repaired or found —
 * or released by a cancelled or expired `lista` hold — is set aside for the first waiting hold
 * until now + the pickup window (the booking policy's for the category × the borrower's role, 30
 * min for premium × teacher/staff/admin, else 48 h), unless the copy (a booking of it, a loan, a
 * hold) or the entry's stock is committed before that deadline; a `lista` hold counts as one unit
 * over `[readyAt, expiresAt)` wherever the stock is counted (bookings, approvals, renewals,
 * pickups); `serveHolds` takes only a copy `disponible` and not set aside. A copy set aside that
 * leaves the shelf (`sendToMaintenance`, `markLost`) releases its hold: back to `en_espera` (event
 * `released`; copy, ready and deadline instants null again; `placedAt` kept, so it keeps its
 * place), and the entry's first free copy by number (`disponible`, not set aside), if any, is
 * offered to the queue as a returned one. Approvals without a copy skip set-aside copies; a named
 * copy (request by copy, or `copyId` at approval) that is set aside — whatever its deadline, until
 * `expireHolds` sweeps the hold — is refused `COPY_UNAVAILABLE` (`reason: 'held'`, after the
 * copy-status check). A pickup of an entry booking takes the first copies by number neither set
 * aside nor held by a named booking; a named copy set aside is refused (`COPY_UNAVAILABLE`).
 * `fulfillHold` makes an approved loan due as an approval's (capped before a booking);
 * `expireHolds` expires the `lista` holds at or past their deadline, each copy passed on in turn.
 * (`withdrawEntry` and `withdrawCopy` are not among the steps.)
 * The hold invariants, checked with SQL (and `HoldService.holdQueue`) after every step:
 *
 * - holds agree with the model (status, copy, ready/deadline instants, loan); one
 *   `swl_hold_event` per transition, the last one leading to the status; no hold leaves a
 *   terminal status (`cumplida`, `cancelada`, `vencida`);
 * - a `lista` hold's copy is `disponible` and a copy of its entry; at most one `lista` hold per
 *   copy, at most one active (`en_espera`/`lista`) hold per borrower × entry;
 * - the queue of each entry lists its waiting holds at positions 1..n by (placedAt, id), and the
 *   `lista` ones by deadline without a position;
 * - the queue is served, as far as the service guarantees it: a copy that becomes free
 *   (`disponible`, not set aside) while a hold waits for its entry — checked in, repaired, found,
 *   or released by a hold — or that is free when a hold is placed, is one `serveHolds` refuses at
 *   that step (the copy or the stock committed before the pickup deadline, checked with the longest
 *   window among the waiting holds). It is not guaranteed that no free copy coexists with a waiting
 *   hold: nothing re-serves a copy refused earlier once the booking that needed it is cancelled,
 *   no-showed or over, or once a loan of another copy ends, and a release offers only the entry's
 *   first free copy; such copies are carried over, not checked again (and there is no command
 *   here that adds copies, which are not served either).
 *
 * Half of the runs use a holds mix of commands (more loans, returns, lost/found copies and hold
 * commands, fewer bookings and policy edits) on 1–2 copies per entry, so that entries run out.
 *
 * Each run starts from a fresh small dataset (an admin, a staff member, three borrowers of mixed
 * roles, a general entry with an unknown, free, priced or `MAX_MONEY` replacement cost and a
 * premium entry, with 2–3 copies each (1–2 with the holds mix), the default lending and booking policies), made by deleting the previous run's
 * rows (children first) rather than creating a database.
 *
 * Reproducing a failure: fast-check prints `seed` and `path` of the shrunk counterexample. Run
 *
 *   SWL_PBT_SEED=<seed> SWL_PBT_PATH=<path> npx vitest run test/reliability/model.test.ts
 *
 * adding `-t '[sqlite]'` or `-t '[postgresql]'` to replay only the dialect that failed
 * (`SWL_PBT_PATH` is optional; without it the whole property replays from the seed). More or fewer
 * runs: `SWL_PBT_RUNS=<n>` (default 40 per dialect); longer sequences: `SWL_PBT_STEPS=<n>`
 * (default 60); how long shrinking may take before the smallest counterexample so far is
 * reported: `SWL_PBT_SHRINK_MS=<ms>` (default 120000); how often each command succeeded or failed
 * with which code: `SWL_PBT_STATS=1`.
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import { ManualClock } from '../../src/clock.ts';
import type {
  Category,
  CopyStatus,
  HoldStatus,
  LoanStatus,
  PenaltySettlement,
  ReservationStatus,
  ReturnOutcome,
  Role,
} from '../../src/domain/vocabulary.ts';
import { CatalogEntry } from '../../src/entities/catalog-entry.entity.ts';
import { CopyEvent } from '../../src/entities/copy-event.entity.ts';
import { ItemInstance } from '../../src/entities/item-instance.entity.ts';
import { Loan } from '../../src/entities/loan.entity.ts';
import { LoanPolicy } from '../../src/entities/loan-policy.entity.ts';
import { Reservation } from '../../src/entities/reservation.entity.ts';
import { ReservationPolicy } from '../../src/entities/reservation-policy.entity.ts';
import { User } from '../../src/entities/user.entity.ts';
import { SwlError, type SwlErrorCode } from '../../src/errors.ts';
import { HoldService } from '../../src/holds/hold.service.ts';
import { DEFAULT_HOLD_PICKUP_MINUTES } from '../../src/holds/serve.ts';
import { type StoredInstant, toInstant } from '../../src/kernel/db.ts';
import { MAX_MONEY } from '../../src/loans/fines.ts';
import { type Capability, can } from '../../src/permissions.ts';
import { DEFAULT_LOAN_POLICIES } from '../../src/policies/defaults.ts';
import type { LoanPolicyRule, UpdateLoanPolicyInput } from '../../src/policies/schemas.ts';
import { DEFAULT_RESERVATION_POLICIES } from '../../src/reservations/defaults.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import {
  describeEachDialect,
  expectSwlError,
  openServices,
  type Services,
  T0,
  useTestOrm,
} from '../support/fixtures.ts';

const RUNS = Number(process.env.SWL_PBT_RUNS ?? 40);
const STEPS = Number(process.env.SWL_PBT_STEPS ?? 60);
const SEED = process.env.SWL_PBT_SEED === undefined ? undefined : Number(process.env.SWL_PBT_SEED);
const PATH = process.env.SWL_PBT_PATH;
const SHRINK_MS = Number(process.env.SWL_PBT_SHRINK_MS ?? 120_000);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const UNIT_MS = { minutes: MINUTE, hours: HOUR, days: 24 * HOUR } as const;
const INTERVAL_MINUTES = { minute: 1, hour: 60, day: 1440, week: 10080 } as const;
/** An id no row has. */
const MISSING_ID = 2_000_000_000;

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

interface MUser {
  id: number;
  role: Role;
  active: boolean;
}
interface MEntry {
  id: number;
  category: Category;
  /** Minor units; null = unknown. */
  replacementCost: number | null;
}
interface MCopy {
  id: number;
  entry: number;
  sequence: number;
  status: CopyStatus;
}
interface MLoan {
  id: number;
  borrower: number;
  entry: number;
  copy: number | null;
  status: LoanStatus;
  requestDate: number;
  requestedDue: number | null;
  approvalDate: number | null;
  dueDate: number | null;
  returnDate: number | null;
  renewalCount: number;
  finalPenalty: number;
  settlement: PenaltySettlement | null;
  /** The policy as it was at approval (docs/DESIGN.md §11); null before. */
  terms: LoanPolicyRule | null;
  /** Successful transitions so far = LoanEvents the database must hold for this loan. */
  events: number;
}

interface MReservation {
  id: number;
  borrower: number;
  entry: number;
  /** A booking of a named copy, or null: `quantity` units of the entry. */
  copy: number | null;
  quantity: number;
  startsAt: number;
  endsAt: number;
  /** `endsAt` + the booking policy's buffer of the borrower's role, fixed at booking. */
  blocksUntil: number;
  pickupDeadline: number;
  status: ReservationStatus;
  loanIds: number[];
  /** Successful transitions so far = ReservationEvents the database must hold for it. */
  events: number;
}

interface MHold {
  id: number;
  borrower: number;
  entry: number;
  status: HoldStatus;
  placedAt: number;
  /** The copy set aside for it (`lista`), kept afterwards; null again once released. */
  copy: number | null;
  readyAt: number | null;
  expiresAt: number | null;
  loanId: number | null;
  /** Successful transitions so far = HoldEvents the database must hold for it. */
  events: number;
}
const ACTIVE_HOLD: readonly HoldStatus[] = ['en_espera', 'lista'];

/** One commitment of stock (src/reservations/availability.ts): `n` units over `[s, e)`. */
interface Commitment {
  kind: 'reservation' | 'loan' | 'hold';
  id: number;
  copy: number | null;
  s: number;
  /** Infinity for an overdue loan. */
  e: number;
  n: number;
}

const HOLDING: readonly ReservationStatus[] = ['solicitada', 'confirmada'];
/** Commitments a check leaves out: the booking, loan or hold being changed. */
type Excluding = { reservation?: number; loan?: number; hold?: number };
/** The booking policies are never edited by the steps: the seeded ones hold for the whole run. */
const reservationPolicy = (category: Category, role: Role) =>
  DEFAULT_RESERVATION_POLICIES.find((p) => p.category === category && p.role === role);
/** The buffer after a booking, or after a loan, of `category` to a `role`: its booking policy's, else 0. */
const bufferMs = (category: Category, role: Role) =>
  (reservationPolicy(category, role)?.bufferMinutes ?? 0) * MINUTE;
/** `LoanService.approve` refuses a loan the bookings would leave less than this (loan-guard.ts). */
const MIN_GAP_LOAN_MS = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The fields of a policy a loan keeps as its terms, in `LoanView.terms` order. */
const TERM_FIELDS = [
  'loanPeriod',
  'loanPeriodUnit',
  'maxRenewals',
  'fineAmount',
  'fineInterval',
  'gracePeriodMinutes',
  'graceMode',
  'intervalRounding',
  'maxFine',
  'capAtReplacementCost',
] as const;
const termsOf = (rule: LoanPolicyRule | null) =>
  rule ? Object.fromEntries(TERM_FIELDS.map((k) => [k, rule[k]])) : null;

/** Every (category, role) a policy step may touch: the seeded ones and the missing premium × student. */
const POLICY_KEYS = [
  ...DEFAULT_LOAN_POLICIES.map((p) => [p.category, p.role] as const),
  ['premium', 'student'] as const,
];
/** The rule an upsert writes for a key: the seeded one, or the premium teacher rule for students. */
function defaultRule(category: Category, role: Role): LoanPolicyRule {
  const seeded = DEFAULT_LOAN_POLICIES.find((p) => p.category === category && p.role === role);
  if (seeded) return { ...seeded };
  const premium = DEFAULT_LOAN_POLICIES.find((p) => p.category === category) as LoanPolicyRule;
  return { ...premium, role };
}
const BIG_MAX_MONEY = BigInt(MAX_MONEY);

class Model {
  /** admin, staff, then the three borrowers. */
  readonly people: MUser[];
  readonly entries: MEntry[];
  readonly copies: MCopy[];
  readonly loans: MLoan[] = [];
  /** The policies as they are now (edited, deleted and re-created by policy steps). */
  readonly policies: LoanPolicyRule[] = DEFAULT_LOAN_POLICIES.map((p) => ({ ...p }));
  readonly reservations: MReservation[] = [];
  readonly holds: MHold[] = [];
  /**
   * Free copies a release did not offer to the queue at this step (only the entry's first free
   * copy is offered): the served-queue check carries them over. Cleared by `verify`.
   */
  readonly notOffered = new Set<number>();
  now: number;

  constructor(people: MUser[], entries: MEntry[], copies: MCopy[], now: number) {
    this.people = people;
    this.entries = entries;
    this.copies = copies;
    this.now = now;
  }

  user(id: number): MUser | undefined {
    return this.people.find((u) => u.id === id);
  }
  entry(id: number): MEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }
  copy(id: number): MCopy | undefined {
    return this.copies.find((c) => c.id === id);
  }

  policy(category: Category, role: Role): LoanPolicyRule | undefined {
    return this.policies.find((p) => p.category === category && p.role === role);
  }

  /** docs/DESIGN.md §5 automatic blocks at the model's now. */
  blocked(borrower: number): boolean {
    return this.loans.some(
      (l) =>
        l.borrower === borrower &&
        ((l.status === 'aprobado' && (l.dueDate as number) < this.now) ||
          (l.status === 'devuelto' && l.finalPenalty > 0 && l.settlement === null)),
    );
  }

  /** Pending + approved loans of the borrower in the category (the lending limit's count). */
  activeInCategory(borrower: number, category: Category): number {
    return this.loans.filter(
      (l) =>
        l.borrower === borrower &&
        (l.status === 'pendiente' || l.status === 'aprobado') &&
        this.entry(l.entry)?.category === category,
    ).length;
  }

  /** Copies of the entry that can be lent: `disponible` or `prestado`. */
  capacity(entry: number): number {
    return this.copies.filter(
      (c) => c.entry === entry && (c.status === 'disponible' || c.status === 'prestado'),
    ).length;
  }

  /**
   * What holds the entry's stock now: holding bookings over `[startsAt, blocksUntil)`, approved
   * loans from approval to due + buffer (for ever once overdue: due < now).
   */
  commitments(entry: number, exclude: Excluding = {}): Commitment[] {
    const category = (this.entry(entry) as MEntry).category;
    return [
      ...this.reservations
        .filter((r) => r.entry === entry && HOLDING.includes(r.status) && r.id !== exclude.reservation)
        .map((r) => ({
          kind: 'reservation' as const,
          id: r.id,
          copy: r.copy,
          s: r.startsAt,
          e: r.blocksUntil,
          n: r.quantity,
        })),
      ...this.loans
        .filter((l) => l.entry === entry && l.status === 'aprobado' && l.id !== exclude.loan)
        .map((l) => ({
          kind: 'loan' as const,
          id: l.id,
          copy: l.copy,
          s: l.approvalDate as number,
          e:
            (l.dueDate as number) < this.now
              ? Number.POSITIVE_INFINITY
              : (l.dueDate as number) + bufferMs(category, (this.user(l.borrower) as MUser).role),
          n: 1,
        })),
      ...this.holds
        .filter((h) => h.entry === entry && h.status === 'lista' && h.id !== exclude.hold)
        .map((h) => ({
          kind: 'hold' as const,
          id: h.id,
          copy: h.copy,
          s: h.readyAt as number,
          e: h.expiresAt as number,
          n: 1,
        })),
    ];
  }

  /** The entry's waiting holds, first come first served (`placedAt`, then id). */
  waiting(entry: number): MHold[] {
    return this.holds
      .filter((h) => h.entry === entry && h.status === 'en_espera')
      .sort((a, b) => a.placedAt - b.placedAt || a.id - b.id);
  }

  /** Whether a `lista` hold has the copy set aside (whatever its deadline). */
  setAside(copy: number): boolean {
    return this.holds.some((h) => h.status === 'lista' && h.copy === copy);
  }

  /** The pickup window of a hold for `borrower`: the booking policy's, else 48 h. */
  pickupWindowMs(entry: number, borrower: number): number {
    const category = (this.entry(entry) as MEntry).category;
    const role = (this.user(borrower) as MUser).role;
    return (reservationPolicy(category, role)?.pickupWindowMinutes ?? DEFAULT_HOLD_PICKUP_MINUTES) * MINUTE;
  }

  /** serve.ts: whether a copy could not be set aside now for a hold with a pickup window of `windowMs`. */
  serveRefuses(copy: number, windowMs: number): boolean {
    const entry = (this.copy(copy) as MCopy).entry;
    const until = this.now + windowMs;
    return (
      this.copyCommitments(copy, this.now, until).length > 0 ||
      this.firstOver(entry, this.now, until, 1) !== null
    );
  }

  /**
   * serve.ts written out again: sets copy `copy` aside for the first waiting hold of its entry,
   * unless none waits or the copy or the stock is committed before the pickup deadline.
   */
  serve(copy: number): MHold | null {
    const c = this.copy(copy) as MCopy;
    const entry = c.entry;
    const hold = this.waiting(entry)[0];
    if (!hold) return null;
    // Only a copy on the shelf that no other hold has.
    if (c.status !== 'disponible' || this.setAside(copy)) return null;
    const window = this.pickupWindowMs(entry, hold.borrower);
    if (this.serveRefuses(copy, window)) return null;
    Object.assign(hold, { status: 'lista', copy, readyAt: this.now, expiresAt: this.now + window });
    hold.events += 1;
    return hold;
  }

  /**
   * serve.ts `releaseSetAside` written out again: copy `copy`, set aside for a `lista` hold, has
   * left the shelf — the hold waits again (its `placedAt` unchanged: its place), and the entry's
   * first free copy by sequence (`disponible`, not set aside), if any, is offered to the queue.
   */
  release(copy: number): { released: MHold; served: MHold | null } | null {
    const hold = this.holds.find((h) => h.status === 'lista' && h.copy === copy);
    if (!hold) return null;
    Object.assign(hold, { status: 'en_espera', copy: null, readyAt: null, expiresAt: null });
    hold.events += 1;
    const [free, ...others] = this.copies
      .filter((c) => c.entry === hold.entry && c.status === 'disponible' && !this.setAside(c.id))
      .sort((a, b) => a.sequence - b.sequence);
    for (const c of others) this.notOffered.add(c.id);
    return { released: hold, served: free ? this.serve(free.id) : null };
  }

  /** hold.service.ts `copyFreeNow`: a copy `disponible`, not set aside, and a unit of stock free now. */
  copyFreeNow(entry: number): boolean {
    return (
      this.copies.some((c) => c.entry === entry && c.status === 'disponible' && !this.setAside(c.id)) &&
      this.firstOver(entry, this.now, this.now + 1, 1) === null
    );
  }

  /** The commitments of one copy (its named bookings, its loan) overlapping `[from, to)`, earliest first. */
  copyCommitments(copy: number, from: number, to: number, exclude: Excluding = {}): Commitment[] {
    const entry = (this.copy(copy) as MCopy).entry;
    return this.commitments(entry, exclude)
      .filter((c) => c.copy === copy && c.s < to && c.e > from)
      .sort((a, b) => a.s - b.s);
  }

  /**
   * The first instant of `[from, to)` at which `extra` more units of the entry exceed its capacity,
   * or null. The committed units only change where a commitment starts or ends, so those
   * instants (and `from`) are the ones to look at.
   */
  firstOver(entry: number, from: number, to: number, extra: number, exclude: Excluding = {}): number | null {
    const all = this.commitments(entry, exclude).filter((c) => c.e > from && c.s < to);
    const instants = [
      ...new Set([
        from,
        ...all.map((c) => c.s).filter((s) => s > from),
        ...all.map((c) => c.e).filter((e) => e < to),
      ]),
    ].sort((a, b) => a - b);
    const capacity = this.capacity(entry);
    for (const t of instants) {
      const booked = all.filter((c) => c.s <= t && c.e > t).reduce((sum, c) => sum + c.n, 0);
      if (booked + extra > capacity) return t;
    }
    return null;
  }

  /**
   * loan-guard.ts, written out again: the first instant of `[now, until)` from which one more unit
   * of the entry — or the copy, against its named bookings — is no longer free, or null.
   */
  firstReserved(
    entry: number,
    copy: number,
    until: number,
    exclude: Excluding = {},
  ): { at: number; reservationId: number | null } | null {
    let first: { at: number; reservationId: number | null } | null = null;
    // A booking of the copy, or its being set aside for a hold (loan-guard.ts).
    const booking = this.copyCommitments(copy, this.now, until, exclude).find((c) => c.kind !== 'loan');
    if (booking)
      first = {
        at: Math.max(booking.s, this.now),
        reservationId: booking.kind === 'reservation' ? booking.id : null,
      };
    const full = this.firstOver(entry, this.now, until, 1, exclude);
    if (full !== null && (!first || full < first.at)) first = { at: full, reservationId: null };
    return first;
  }

  /**
   * docs/DESIGN.md §5 fine rule under the loan's terms, written out again (not the package's calculator):
   * exact (BigInt), capped only at a known replacement cost, held at MAX_MONEY.
   */
  fine(loan: MLoan, replacementCost: number | null): number {
    const terms = loan.terms as LoanPolicyRule;
    const overdue = Math.max(
      0,
      Math.floor(this.now / MINUTE) - Math.floor((loan.dueDate as number) / MINUTE),
    );
    if (overdue <= terms.gracePeriodMinutes) return 0;
    const counted = terms.graceMode === 'deduct' ? overdue - terms.gracePeriodMinutes : overdue;
    const length = INTERVAL_MINUTES[terms.fineInterval];
    const intervals =
      terms.intervalRounding === 'down' ? Math.floor(counted / length) : Math.ceil(counted / length);
    let amount = BigInt(intervals) * BigInt(terms.fineAmount);
    const min = (a: bigint, b: bigint) => (a < b ? a : b);
    if (terms.maxFine > 0) amount = min(amount, BigInt(terms.maxFine));
    if (terms.capAtReplacementCost && replacementCost !== null) amount = min(amount, BigInt(replacementCost));
    return Number(min(amount, BIG_MAX_MONEY));
  }
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/** Index into `model.people` (0 admin, 1 staff, 2–4 borrowers), or the loan's own borrower. */
type ActorPick = number | 'owner';
/**
 * A loan or copy: the `n`-th most recent (modulo their number), among those the command applies to
 * when `fit` (falling back to all of them), or an id that does not exist.
 */
type Pick = { n: number; fit: boolean } | 'missing';
type LoanPick = Pick;
type CopyPick = Pick;

type Step =
  | {
      kind: 'request';
      actor: ActorPick;
      borrower: 'self' | number | 'missing';
      target: { copy: CopyPick } | { entry: 0 | 1 | 'missing' };
      environment: boolean;
      dueInHours: number | null;
    }
  | { kind: 'approve'; actor: ActorPick; loan: LoanPick; copy: CopyPick | null }
  | { kind: 'reject'; actor: ActorPick; loan: LoanPick }
  | { kind: 'cancel'; actor: ActorPick; loan: LoanPick }
  | { kind: 'renew'; actor: ActorPick; loan: LoanPick }
  | { kind: 'return'; actor: ActorPick; loan: LoanPick; outcome: ReturnOutcome }
  | { kind: 'settle'; actor: ActorPick; loan: LoanPick; settlement: PenaltySettlement }
  | {
      kind: 'copy';
      actor: ActorPick;
      op: 'sendToMaintenance' | 'repair' | 'markLost' | 'markFound';
      copy: CopyPick;
    }
  | { kind: 'deactivate' | 'reactivate'; actor: ActorPick; user: number | 'missing' }
  | {
      kind: 'policy';
      actor: ActorPick;
      /** Index into {@link POLICY_KEYS}. */
      key: number;
      op: { update: PolicyChanges } | 'delete' | 'upsert';
    }
  | {
      kind: 'reserve';
      /** Indexes into `model.people`. */
      who: { actor: number; borrower: 'self' | number | 'missing' };
      target: { copy: CopyPick } | { entry: 0 | 1 | 'missing' };
      /** Only for a booking of the entry (a named copy is quantity 1). */
      quantity: number;
      /** Whole hours after the next full hour (-1: in the past; 31 days: too far ahead). */
      startHour: number;
      /** 1–6 h, or 9 h (over the 8-hour maximum). */
      hours: number;
    }
  | { kind: 'confirmReservation'; actor: ActorPick; reservation: Pick }
  | { kind: 'cancelReservation'; actor: ActorPick; reservation: Pick }
  | { kind: 'pickUp'; actor: ActorPick; reservation: Pick }
  | { kind: 'recordNoShows'; actor: ActorPick }
  | {
      kind: 'placeHold';
      /** Indexes into `model.people`. */
      actor: number;
      borrower: 'self' | number | 'missing';
      /** `busy`: the first entry none of whose copies can be lent now (else the general one). */
      entry: 0 | 1 | 'missing' | 'busy';
    }
  | { kind: 'cancelHold'; actor: ActorPick; hold: Pick }
  | { kind: 'fulfillHold'; actor: ActorPick; hold: Pick }
  | { kind: 'expireHolds'; actor: ActorPick }
  | { kind: 'advance'; minutes: number }
  /** To the earliest pickup deadline of a `lista` hold still ahead, plus -1 or 0 min. */
  | { kind: 'advance'; holdDeadline: number }
  /**
   * To `pastNextHour` minutes after the next start of a holding booking (or the next full hour):
   * the start, inside or at the end of its pickup window.
   */
  | { kind: 'advance'; pastNextHour: number };

type PolicyChanges = Omit<UpdateLoanPolicyInput, 'category' | 'role' | 'expectedVersion'>;

const anyActor = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant<'owner'>('owner'));
const deskActor = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(0, 1) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }) },
);
const pick: fc.Arbitrary<Pick> = fc.oneof(
  {
    weight: 15,
    arbitrary: fc.record({
      n: fc.nat(40),
      fit: fc.oneof(
        { weight: 4, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant<'missing'>('missing') },
);
const loanPick = pick;
/** Who books for whom: mostly teachers and staff for themselves, the desk for a borrower. */
const reserver = fc.oneof(
  {
    weight: 8,
    // students (no booking policy) and admins now and then
    arbitrary: fc.record({
      actor: fc.constantFrom(3, 3, 3, 4, 4, 1, 1, 0, 2),
      borrower: fc.constant<'self'>('self'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ actor: fc.constantFrom(0, 1), borrower: fc.integer({ min: 2, max: 4 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      actor: fc.integer({ min: 0, max: 4 }),
      borrower: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant<'missing'>('missing')),
    }),
  },
);
const copyPick = pick;

/** Policy edits: a fine lowered or raised (up to MAX_MONEY a minute), caps, periods, renewals… */
const policyChanges: fc.Arbitrary<PolicyChanges> = fc
  .record(
    {
      fineAmount: fc.constantFrom(0, 3, 100_000, 300_000, 2 ** 31 - 1, MAX_MONEY),
      fineInterval: fc.constantFrom('minute' as const, 'hour' as const, 'day' as const, 'week' as const),
      maxFine: fc.constantFrom(0, 1_000, 2_000_000, MAX_MONEY),
      gracePeriodMinutes: fc.constantFrom(0, 15, 60),
      graceMode: fc.constantFrom('threshold' as const, 'deduct' as const),
      intervalRounding: fc.constantFrom('up' as const, 'down' as const),
      capAtReplacementCost: fc.boolean(),
      loanPeriod: fc.constantFrom(1, 3, 8),
      loanPeriodUnit: fc.constantFrom('minutes' as const, 'hours' as const, 'days' as const),
      maxRenewals: fc.constantFrom(0, 1, 3),
      maxActiveLoans: fc.constantFrom(0, 1, 3),
      environmentRequired: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .filter((changes) => Object.keys(changes).length > 0);

/**
 * The command mix: `holds` favours what makes the holds queue move — loans out, copies lost and
 * found, holds placed, fulfilled and expired — over bookings and policy edits.
 */
const stepArbFor = (holds: boolean): fc.Arbitrary<Step> =>
  fc.oneof(
    {
      weight: holds ? 12 : 8,
      arbitrary: fc.record({
        kind: fc.constant('request' as const),
        actor: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 2, max: 4 }) }, anyActor),
        borrower: fc.oneof(
          { weight: 8, arbitrary: fc.constant<'self'>('self') },
          { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }) },
          { weight: 1, arbitrary: fc.constant<'missing'>('missing') },
        ),
        target: fc.oneof(
          fc.record({ copy: copyPick }),
          fc.record({ entry: fc.constantFrom<0 | 1 | 'missing'>(0, 0, 1, 1, 'missing') }),
        ),
        environment: fc.oneof(
          { weight: 4, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
        dueInHours: fc.option(fc.constantFrom(-1, 0, 2, 30, 100, 500), { freq: 4 }),
      }),
    },
    {
      weight: holds ? 9 : 6,
      arbitrary: fc.record({
        kind: fc.constant('approve' as const),
        actor: deskActor,
        loan: loanPick,
        copy: fc.option(copyPick, { freq: 3 }),
      }),
    },
    {
      weight: holds ? 1 : 1,
      arbitrary: fc.record({ kind: fc.constant('reject' as const), actor: deskActor, loan: loanPick }),
    },
    {
      weight: holds ? 1 : 1,
      arbitrary: fc.record({ kind: fc.constant('cancel' as const), actor: anyActor, loan: loanPick }),
    },
    {
      weight: holds ? 1 : 2,
      // by the borrower or by the desk (which reaches a deactivated borrower's loan: BORROWER_INACTIVE)
      arbitrary: fc.record({
        kind: fc.constant('renew' as const),
        actor: fc.oneof(anyActor, deskActor),
        loan: loanPick,
      }),
    },
    {
      weight: holds ? 8 : 5,
      arbitrary: fc.record({
        kind: fc.constant('return' as const),
        actor: deskActor,
        loan: loanPick,
        outcome: fc.constantFrom<ReturnOutcome>('ok', 'ok', 'damaged', 'lost', 'lost'),
      }),
    },
    {
      weight: holds ? 2 : 3,
      arbitrary: fc.record({
        kind: fc.constant('settle' as const),
        actor: deskActor,
        loan: loanPick,
        settlement: fc.constantFrom<PenaltySettlement>('paid', 'waived'),
      }),
    },
    {
      weight: holds ? 10 : 3,
      arbitrary: fc.record({
        kind: fc.constant('copy' as const),
        actor: deskActor,
        op: fc.constantFrom('sendToMaintenance', 'repair', 'markLost', 'markFound'),
        copy: copyPick,
      }),
    },
    {
      weight: holds ? 1 : 1,
      arbitrary: fc.record({
        kind: fc.constantFrom('deactivate' as const, 'reactivate' as const),
        actor: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, anyActor),
        user: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant<'missing'>('missing')),
      }),
    },
    {
      weight: holds ? 1 : 2,
      arbitrary: fc.record({
        kind: fc.constant('policy' as const),
        actor: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, anyActor),
        key: fc.nat(POLICY_KEYS.length - 1),
        op: fc.oneof(
          { weight: 4, arbitrary: fc.record({ update: policyChanges }) },
          { weight: 1, arbitrary: fc.constant<'delete'>('delete') },
          { weight: 1, arbitrary: fc.constant<'upsert'>('upsert') },
        ),
      }),
    },
    {
      weight: holds ? 3 : 6,
      arbitrary: fc.record({
        kind: fc.constant('reserve' as const),
        who: reserver,
        target: fc.oneof(
          { weight: 1, arbitrary: fc.record({ copy: copyPick }) },
          {
            weight: 3,
            arbitrary: fc.record({
              entry: fc.constantFrom<0 | 1 | 'missing'>(1, 1, 1, 1, 1, 1, 1, 1, 0, 'missing'),
            }),
          },
        ),
        quantity: fc.constantFrom(1, 1, 1, 2, 2, 3),
        startHour: fc.oneof(
          { weight: 12, arbitrary: fc.integer({ min: 0, max: 11 }) },
          { weight: 4, arbitrary: fc.integer({ min: 12, max: 47 }) },
          { weight: 1, arbitrary: fc.constantFrom(-1, 31 * 24) },
        ),
        hours: fc.oneof(
          { weight: 12, arbitrary: fc.integer({ min: 1, max: 6 }) },
          { weight: 1, arbitrary: fc.constant(9) },
        ),
      }),
    },
    {
      weight: holds ? 1 : 2,
      arbitrary: fc.record({
        kind: fc.constant('confirmReservation' as const),
        actor: deskActor,
        reservation: pick,
      }),
    },
    {
      weight: holds ? 1 : 1,
      arbitrary: fc.record({
        kind: fc.constant('cancelReservation' as const),
        actor: anyActor,
        reservation: pick,
      }),
    },
    {
      weight: holds ? 2 : 3,
      arbitrary: fc.record({ kind: fc.constant('pickUp' as const), actor: deskActor, reservation: pick }),
    },
    {
      weight: holds ? 1 : 1,
      arbitrary: fc.record({ kind: fc.constant('recordNoShows' as const), actor: deskActor }),
    },
    {
      weight: holds ? 10 : 4,
      // borrowers for themselves, the desk for a borrower, now and then anyone for anyone
      arbitrary: fc
        .record({
          who: fc.oneof(
            {
              weight: 6,
              arbitrary: fc.record({
                actor: fc.integer({ min: 2, max: 4 }),
                borrower: fc.constant<'self'>('self'),
              }),
            },
            {
              weight: 2,
              arbitrary: fc.record({
                actor: fc.constantFrom(0, 1),
                borrower: fc.integer({ min: 2, max: 4 }),
              }),
            },
            {
              weight: 1,
              arbitrary: fc.record({
                actor: fc.integer({ min: 0, max: 4 }),
                borrower: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant<'missing'>('missing')),
              }),
            },
          ),
          entry: fc.constantFrom<0 | 1 | 'missing' | 'busy'>(0, 1, 'busy', 'busy', 'busy', 'busy', 'missing'),
        })
        .map(({ who, entry }) => ({ kind: 'placeHold' as const, ...who, entry })),
    },
    {
      weight: holds ? 3 : 2,
      arbitrary: fc.record({ kind: fc.constant('cancelHold' as const), actor: anyActor, hold: pick }),
    },
    {
      weight: holds ? 6 : 3,
      arbitrary: fc.record({ kind: fc.constant('fulfillHold' as const), actor: deskActor, hold: pick }),
    },
    {
      weight: holds ? 2 : 1,
      arbitrary: fc.record({ kind: fc.constant('expireHolds' as const), actor: deskActor }),
    },
    {
      weight: holds ? 3 : 1,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), holdDeadline: fc.constantFrom(-1, 0) }),
    },
    {
      weight: holds ? 4 : 4,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        // a minute, half an hour, past the 60-min grace, a premium loan period, a day, a student loan…
        minutes: fc.constantFrom(1, 30, 61, 180, 8 * 60 + 16, 24 * 60, 3 * 24 * 60 + 61, 8 * 24 * 60),
      }),
    },
    {
      weight: holds ? 1 : 2,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        // to the next booking's start, inside its 30-minute pickup window, at its deadline
        pastNextHour: fc.constantFrom(0, 10, 29, 30),
      }),
    },
  );

/**
 * One run's dataset: the third borrower's role and the copy counts vary (1–2 copies with the holds
 * mix, where an entry must run out of copies for a hold to be placed).
 */
const datasetArbFor = (holds: boolean) =>
  fc.record({
    thirdBorrower: fc.constantFrom<Role>('student', 'teacher', 'staff'),
    generalCopies: fc.integer({ min: holds ? 1 : 2, max: holds ? 2 : 3 }),
    premiumCopies: fc.integer({ min: holds ? 1 : 2, max: holds ? 2 : 3 }),
    /** null = unknown (no cap, nothing charged when lost), 0 = free, or a known price up to MAX_MONEY. */
    generalReplacementCost: fc.constantFrom<number | null>(null, 0, 5_000_000, MAX_MONEY),
  });
type Dataset = ReturnType<typeof datasetArbFor> extends fc.Arbitrary<infer T> ? T : never;

/** What the model expects of a command. */
type Expectation =
  | {
      ok: true;
      /** Checks the result and updates the model; may return what happened, for the stats. */
      // biome-ignore lint/suspicious/noConfusingVoidType: most apply functions return nothing
      apply: (result: unknown) => string | undefined | void;
      /** Shown in the stats. */
      tag?: string;
    }
  | { ok: false; code: SwlErrorCode; why: string };

const refuse = (code: SwlErrorCode, why: string): Expectation => ({ ok: false, code, why });

/** The desk's services and the reservations. */
type DeskServices = Services & { reservations: ReservationService };

/**
 * Steps after which an entry may hold more commitments than copies without any command being
 * wrong: the clock (a loan that goes overdue holds its copy for ever) and copies leaving the
 * lendable stock (maintenance, lost, a damaged or lost return).
 */
const outsideTheDesk = (step: Step) =>
  step.kind === 'advance' ||
  (step.kind === 'copy' && (step.op === 'sendToMaintenance' || step.op === 'markLost')) ||
  (step.kind === 'return' && step.outcome !== 'ok');

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

describeEachDialect('model-based lending desk', (dialect) => {
  const t = useTestOrm(dialect);
  let run = 0;
  /** Outcomes per command, printed with `SWL_PBT_STATS=1` to see what the generator reaches. */
  const tally = new Map<string, number>();
  afterAll(async () => {
    if (process.env.SWL_PBT_STATS === '1') {
      console.log(
        [...tally]
          .sort()
          .map(([k, n]) => `[${dialect}] ${k}: ${n}`)
          .join('\n'),
      );
    }
  });

  /** Deletes every row, children first, and writes the default policies again. */
  async function reset(orm: MikroORM) {
    const connection = orm.em.getConnection();
    for (const table of [
      'swl_hold_event',
      'swl_hold',
      'swl_reservation_event',
      'swl_reservation',
      'swl_reservation_policy',
      'swl_loan_event',
      'swl_instance_event',
      'swl_library_log',
      'swl_loan',
      'swl_item_instance',
      'swl_catalog',
      'swl_user',
      'swl_loan_policy',
    ]) {
      await connection.execute(`delete from ${table}`, [], 'run');
    }
    const em = orm.em.fork();
    for (const rule of DEFAULT_LOAN_POLICIES) em.create(LoanPolicy, { ...rule });
    for (const rule of DEFAULT_RESERVATION_POLICIES) em.create(ReservationPolicy, { ...rule });
    await em.flush();
  }

  async function build(dataset: Dataset): Promise<Model> {
    run += 1;
    const em = t.orm.em.fork();
    const roles: Role[] = ['admin', 'staff', 'student', 'teacher', dataset.thirdBorrower];
    const users = roles.map((role, k) =>
      em.create(User, { documentId: `m${run}-${k}`, fullName: `Model ${role} ${k}`, role, active: true }),
    );
    const general = em.create(CatalogEntry, {
      titleOrName: 'General item',
      category: 'general',
      replacementCost: dataset.generalReplacementCost,
    });
    const premium = em.create(CatalogEntry, {
      titleOrName: 'Premium item',
      category: 'premium',
      replacementCost: 180_000_000,
    });
    await em.flush();
    const copies: ItemInstance[] = [];
    for (const [entry, count] of [
      [general, dataset.generalCopies],
      [premium, dataset.premiumCopies],
    ] as const) {
      for (let n = 1; n <= count; n++) {
        copies.push(
          em.create(ItemInstance, { catalogEntry: entry, sequence: n, code: `M${run}-${entry.id}-${n}` }),
        );
      }
    }
    await em.flush();
    return new Model(
      users.map((u) => ({ id: u.id, role: u.role, active: true })),
      [general, premium].map((e) => ({
        id: e.id,
        category: e.category,
        replacementCost: e.replacementCost ?? null,
      })),
      copies.map((c) => ({ id: c.id, entry: c.catalogEntry.id, sequence: c.sequence, status: 'disponible' })),
      Date.parse(T0),
    );
  }

  /** Turns a step into a call on the services and the model's expectation of it. */
  function plan(
    step: Exclude<Step, { kind: 'advance' }>,
    model: Model,
    services: DeskServices,
  ): { call: () => Promise<unknown>; expect: Expectation; label: string } {
    const choose = <T>(p: Pick, all: readonly T[], fits: (x: T) => boolean): T | undefined => {
      if (p === 'missing') return undefined;
      const fitting = p.fit ? all.filter(fits) : [];
      const pool = fitting.length > 0 ? fitting : all;
      return pool[pool.length - 1 - (p.n % Math.max(pool.length, 1))]; // small n: the most recent
    };
    const loanOf = (p: LoanPick, fits: LoanStatus | ((l: MLoan) => boolean)) =>
      choose(p, model.loans, typeof fits === 'string' ? (l) => l.status === fits : fits);
    const copyOf = (p: CopyPick, ...statuses: CopyStatus[]) =>
      choose(p, model.copies, (c) => statuses.includes(c.status));
    const actorOf = (pick: ActorPick, loan?: MLoan): MUser => {
      if (pick === 'owner')
        return (loan ? model.user(loan.borrower) : undefined) ?? (model.people[2] as MUser);
      return model.people[pick] as MUser;
    };
    /** The checks every command makes first: the role's capability, then the acting user. */
    const gate = (actor: MUser, capability: Capability): Expectation | null => {
      if (!can(actor.role, capability)) return refuse('FORBIDDEN', `${actor.role} lacks ${capability}`);
      return null;
    };
    const active = (actor: MUser): Expectation | null =>
      actor.active ? null : refuse('FORBIDDEN', 'the acting user is inactive');
    const now = model.now;

    switch (step.kind) {
      case 'request': {
        const actor = actorOf(step.actor);
        const borrowerId =
          step.borrower === 'self'
            ? actor.id
            : step.borrower === 'missing'
              ? MISSING_ID
              : (model.people[step.borrower] as MUser).id;
        const copy = 'copy' in step.target ? copyOf(step.target.copy, 'disponible', 'prestado') : undefined;
        const entryPick = 'entry' in step.target ? step.target.entry : undefined;
        const input = {
          ...(borrowerId === actor.id ? {} : { borrowerId }),
          ...('copy' in step.target
            ? { copyId: copy?.id ?? MISSING_ID }
            : {
                catalogEntryId: entryPick === 'missing' ? MISSING_ID : model.entries[entryPick as 0 | 1]?.id,
              }),
          ...(step.environment ? { environment: 'Aula 204' } : {}),
          ...(step.dueInHours === null ? {} : { requestedDueDate: new Date(now + step.dueInHours * HOUR) }),
        };
        const call = () => services.loans.request({ id: actor.id, role: actor.role }, input);
        const label = `request ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied =
            gate(actor, 'loan:request:own') ??
            (borrowerId !== actor.id ? gate(actor, 'loan:request:any') : null) ??
            active(actor);
          if (denied) return denied;
          const borrower = model.user(borrowerId);
          if (!borrower) return refuse('NOT_FOUND', 'no such borrower');
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          let entry: MEntry | undefined;
          if ('copy' in step.target) {
            if (!copy) return refuse('NOT_FOUND', 'no such copy');
            if (copy.status === 'perdido' || copy.status === 'mantenimiento')
              return refuse('COPY_UNAVAILABLE', `copy is ${copy.status}`);
            entry = model.entry(copy.entry);
          } else {
            entry = entryPick === 'missing' ? undefined : model.entries[entryPick as 0 | 1];
            if (!entry) return refuse('NOT_FOUND', 'no such entry');
          }
          const e = entry as MEntry;
          const policy = model.policy(e.category, borrower.role);
          if (!policy) return refuse('POLICY_FORBIDS', `${borrower.role} × ${e.category}`);
          if (policy.environmentRequired && !step.environment)
            return refuse('ENVIRONMENT_REQUIRED', 'no environment');
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          const activeLoans = model.loans.filter(
            (l) =>
              l.borrower === borrower.id &&
              (l.status === 'pendiente' || l.status === 'aprobado') &&
              model.entry(l.entry)?.category === e.category,
          ).length;
          if (activeLoans >= policy.maxActiveLoans)
            return refuse('LOAN_LIMIT_REACHED', `${activeLoans} active`);
          const requestedDue = step.dueInHours === null ? null : now + step.dueInHours * HOUR;
          if (requestedDue !== null && requestedDue <= now)
            return refuse('VALIDATION_FAILED', 'requested due date not in the future');
          return {
            ok: true,
            apply: (result) => {
              const view = result as {
                id: number;
                status: string;
                borrowerId: number;
                copyId: number | null;
              };
              expect(view).toMatchObject({
                status: 'pendiente',
                borrowerId: borrower.id,
                copyId: copy?.id ?? null,
              });
              model.loans.push({
                id: view.id,
                borrower: borrower.id,
                entry: e.id,
                copy: copy?.id ?? null,
                status: 'pendiente',
                requestDate: now,
                requestedDue,
                approvalDate: null,
                dueDate: null,
                returnDate: null,
                renewalCount: 0,
                finalPenalty: 0,
                settlement: null,
                terms: null,
                events: 1,
              });
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'approve': {
        const loan = loanOf(step.loan, 'pendiente');
        const actor = actorOf(step.actor, loan);
        // Now and then a copy set aside for a hold, when there is one (refused: 'held').
        const chosen =
          step.copy === null
            ? undefined
            : step.copy !== 'missing' &&
                step.copy.fit &&
                step.copy.n % 3 === 1 &&
                model.copies.some((c) => model.setAside(c.id))
              ? choose(step.copy, model.copies, (c) => model.setAside(c.id))
              : copyOf(step.copy, 'disponible');
        const input = {
          loanId: loan?.id ?? MISSING_ID,
          ...(step.copy === null ? {} : { copyId: chosen?.id ?? MISSING_ID }),
        };
        const call = () => services.loans.approve({ id: actor.id, role: actor.role }, input);
        const label = `approve ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'loan:approve') ?? active(actor);
          if (denied) return denied;
          if (!loan) return refuse('NOT_FOUND', 'no such loan');
          if (loan.status !== 'pendiente') return refuse('INVALID_TRANSITION', `loan is ${loan.status}`);
          const borrower = model.user(loan.borrower) as MUser;
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          const entry = model.entry(loan.entry) as MEntry;
          const policy = model.policy(entry.category, borrower.role);
          if (!policy) return refuse('POLICY_FORBIDS', `${borrower.role} × ${entry.category} (deleted)`);
          const terms = { ...policy };
          let copy: MCopy | undefined;
          if (loan.copy !== null) {
            if (step.copy !== null && chosen?.id !== loan.copy)
              return refuse('VALIDATION_FAILED', 'the request names another copy');
            copy = model.copy(loan.copy);
          } else if (step.copy !== null) {
            if (!chosen) return refuse('NOT_FOUND', 'no such copy');
            if (chosen.entry !== entry.id) return refuse('VALIDATION_FAILED', 'copy of another entry');
            copy = chosen;
          } else {
            // The first available copy not set aside for a hold.
            copy = model.copies
              .filter((c) => c.entry === entry.id && c.status === 'disponible' && !model.setAside(c.id))
              .sort((a, b) => a.sequence - b.sequence)[0];
            if (!copy) return refuse('COPY_UNAVAILABLE', 'no copy available');
          }
          const held = copy as MCopy;
          if (held.status !== 'disponible') return refuse('COPY_UNAVAILABLE', `copy is ${held.status}`);
          // A named copy set aside for a hold is the hold's until fulfilled, cancelled or swept.
          if ((loan.copy !== null || step.copy !== null) && model.setAside(held.id))
            return refuse('COPY_UNAVAILABLE', `copy ${held.id} is set aside for a hold (held)`);
          let due = now + policy.loanPeriod * UNIT_MS[policy.loanPeriodUnit];
          if (loan.requestedDue !== null && loan.requestedDue > now && loan.requestedDue < due)
            due = loan.requestedDue;
          // Bookings ahead: lend in the gap (due capped at the first booked instant − buffer), or
          // refuse when the gap is under an hour.
          const buffer = bufferMs(entry.category, borrower.role);
          const first = model.firstReserved(entry.id, held.id, due + buffer);
          let cappedBy: { reservedFrom: string; reservationId: number | null } | null = null;
          if (first) {
            if (first.at - buffer - now < MIN_GAP_LOAN_MS)
              return refuse('COPY_UNAVAILABLE', `booked from ${new Date(first.at).toISOString()}`);
            due = first.at - buffer;
            cappedBy = { reservedFrom: new Date(first.at).toISOString(), reservationId: first.reservationId };
          }
          return {
            ok: true,
            ...(cappedBy ? { tag: 'due capped by a booking' } : {}),
            apply: (result) => {
              expect(result).toMatchObject({
                status: 'aprobado',
                copyId: held.id,
                dueDate: new Date(due),
                terms: termsOf(terms),
                dueDateCappedBy: cappedBy,
              });
              Object.assign(loan, {
                status: 'aprobado',
                approvalDate: now,
                dueDate: due,
                copy: held.id,
                terms,
              });
              loan.events += 1;
              held.status = 'prestado';
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'reject':
      case 'cancel': {
        const loan = loanOf(step.loan, 'pendiente');
        const actor = actorOf(step.actor, loan);
        const input = { loanId: loan?.id ?? MISSING_ID, reason: 'model says no' };
        const call = () =>
          step.kind === 'reject'
            ? services.loans.reject({ id: actor.id, role: actor.role }, input)
            : services.loans.cancel({ id: actor.id, role: actor.role }, input);
        const label = `${step.kind} ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied =
            gate(actor, step.kind === 'reject' ? 'loan:reject' : 'loan:cancel:own') ?? active(actor);
          if (denied) return denied;
          if (!loan) return refuse('NOT_FOUND', 'no such loan');
          if (step.kind === 'cancel' && loan.borrower !== actor.id && !can(actor.role, 'loan:cancel:any'))
            return refuse('FORBIDDEN', "another borrower's loan");
          if (loan.status !== 'pendiente') return refuse('INVALID_TRANSITION', `loan is ${loan.status}`);
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({ status: 'rechazado', rejectionReason: 'model says no' });
              loan.status = 'rechazado';
              loan.events += 1;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'renew': {
        const loan = loanOf(step.loan, 'aprobado');
        const actor = actorOf(step.actor, loan);
        const input = { loanId: loan?.id ?? MISSING_ID };
        const call = () => services.loans.renew({ id: actor.id, role: actor.role }, input);
        const label = `renew ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'loan:renew:own') ?? active(actor);
          if (denied) return denied;
          if (!loan) return refuse('NOT_FOUND', 'no such loan');
          if (loan.borrower !== actor.id && !can(actor.role, 'loan:renew:any'))
            return refuse('FORBIDDEN', "another borrower's loan");
          if (loan.status !== 'aprobado') return refuse('INVALID_TRANSITION', `loan is ${loan.status}`);
          const borrower = model.user(loan.borrower) as MUser;
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          const terms = loan.terms as LoanPolicyRule; // the approval's, whatever the policy is now
          const due = loan.dueDate as number;
          if (due <= now) return refuse('LOAN_OVERDUE', 'overdue');
          if (loan.renewalCount >= terms.maxRenewals)
            return refuse('RENEWAL_LIMIT_REACHED', 'no renewals left');
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          const waiting = model.loans.some(
            (l) =>
              l.entry === loan.entry &&
              l.status === 'pendiente' &&
              l.borrower !== loan.borrower &&
              (l.copy === null || l.copy === loan.copy),
          );
          if (waiting) return refuse('HOLD_PENDING', 'someone is waiting');
          const next = due + terms.loanPeriod * UNIT_MS[terms.loanPeriodUnit];
          const entry = model.entry(loan.entry) as MEntry;
          const reserved = model.firstReserved(
            entry.id,
            loan.copy as number,
            next + bufferMs(entry.category, borrower.role),
            { loan: loan.id },
          );
          if (reserved) return refuse('HOLD_PENDING', `booked from ${new Date(reserved.at).toISOString()}`);
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({
                status: 'aprobado',
                dueDate: new Date(next),
                renewalCount: loan.renewalCount + 1,
              });
              loan.dueDate = next;
              loan.renewalCount += 1;
              loan.events += 1;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'return': {
        const loan = loanOf(step.loan, 'aprobado');
        const actor = actorOf(step.actor, loan);
        const input = { loanId: loan?.id ?? MISSING_ID, outcome: step.outcome };
        const call = () => services.loans.return({ id: actor.id, role: actor.role }, input);
        const label = `return ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'loan:return') ?? active(actor);
          if (denied) return denied;
          if (!loan) return refuse('NOT_FOUND', 'no such loan');
          if (loan.status !== 'aprobado') return refuse('INVALID_TRANSITION', `loan is ${loan.status}`);
          const entry = model.entry(loan.entry) as MEntry;
          const fine = model.fine(loan, entry.replacementCost); // under the approval's terms
          const lost = step.outcome === 'lost';
          const replacement = lost ? (entry.replacementCost ?? 0) : 0;
          const total = Number(
            BigInt(fine) + BigInt(replacement) > BIG_MAX_MONEY
              ? BIG_MAX_MONEY
              : BigInt(fine) + BigInt(replacement),
          );
          const copy = model.copy(loan.copy as number) as MCopy;
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({
                status: 'devuelto',
                returnOutcome: step.outcome,
                overdueFine: fine,
                replacementCharge: replacement,
                finalPenalty: total,
                replacementCostUnknown: lost && entry.replacementCost === null,
                terms: termsOf(loan.terms),
              });
              Object.assign(loan, { status: 'devuelto', returnDate: now, finalPenalty: total });
              loan.events += 1;
              copy.status = ({ ok: 'disponible', damaged: 'mantenimiento', lost: 'perdido' } as const)[
                step.outcome
              ];
              // Checked in `ok`, the copy goes to the first waiting hold of its title.
              const served = step.outcome === 'ok' ? model.serve(copy.id) : null;
              expect((result as { setAsideForHold: unknown }).setAsideForHold, label).toEqual(
                served && { holdId: served.id, expiresAt: new Date(served.expiresAt as number) },
              );
              return served ? 'set aside for a hold' : undefined;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'settle': {
        const loan = loanOf(step.loan, (l) => l.status === 'devuelto' && l.finalPenalty > 0 && !l.settlement);
        const actor = actorOf(step.actor, loan);
        const input = { loanId: loan?.id ?? MISSING_ID, settlement: step.settlement };
        const call = () => services.loans.settlePenalty({ id: actor.id, role: actor.role }, input);
        const label = `settlePenalty ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'loan:settle') ?? active(actor);
          if (denied) return denied;
          if (!loan) return refuse('NOT_FOUND', 'no such loan');
          if (loan.status !== 'devuelto') return refuse('INVALID_TRANSITION', `loan is ${loan.status}`);
          if (loan.finalPenalty <= 0) return refuse('INVALID_TRANSITION', 'no penalty');
          if (loan.settlement !== null) return refuse('INVALID_TRANSITION', 'already settled');
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({ status: 'devuelto', penaltySettlement: step.settlement });
              loan.settlement = step.settlement;
              loan.events += 1;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'copy': {
        const actor = actorOf(step.actor);
        const moves: Record<typeof step.op, Partial<Record<CopyStatus, CopyStatus>>> = {
          sendToMaintenance: { disponible: 'mantenimiento', perdido: 'mantenimiento' },
          repair: { mantenimiento: 'disponible' },
          markLost: { disponible: 'perdido' },
          markFound: { perdido: 'disponible' },
        };
        // Half the time a copy leaving the shelf is one set aside for a hold, when there is one.
        const setAsideFirst =
          (step.op === 'sendToMaintenance' || step.op === 'markLost') &&
          step.copy !== 'missing' &&
          step.copy.fit &&
          step.copy.n % 2 === 1 &&
          model.copies.some((c) => model.setAside(c.id));
        const copy = setAsideFirst
          ? choose(step.copy, model.copies, (c) => model.setAside(c.id))
          : copyOf(step.copy, ...(Object.keys(moves[step.op]) as CopyStatus[]));
        const input = { copyId: copy?.id ?? MISSING_ID, note: 'model' };
        const call = () => services.catalog[step.op]({ id: actor.id, role: actor.role }, input);
        const label = `${step.op} ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'inventory:manage') ?? active(actor);
          if (denied) return denied;
          if (!copy) return refuse('NOT_FOUND', 'no such copy');
          const to = moves[step.op][copy.status];
          if (!to) return refuse('INVALID_TRANSITION', `${step.op} of a ${copy.status} copy`);
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({ id: copy.id, status: to });
              const was = copy.status;
              copy.status = to;
              // Repaired or found, the copy goes to the first waiting hold of its title.
              if (to === 'disponible') return model.serve(copy.id) ? 'set aside for a hold' : undefined;
              // Set aside and off the shelf: its hold waits again, and the next free copy is offered.
              const released = was === 'disponible' ? model.release(copy.id) : null;
              if (released)
                return released.served === null
                  ? 'hold released'
                  : released.served === released.released
                    ? 'hold released and served again'
                    : 'hold released, another served';
              return undefined;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'deactivate':
      case 'reactivate': {
        const actor = actorOf(step.actor);
        const target = step.user === 'missing' ? undefined : (model.people[step.user] as MUser);
        const input = { userId: target?.id ?? MISSING_ID };
        const call = () => services.users[step.kind]({ id: actor.id, role: actor.role }, input);
        const label = `${step.kind} ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'user:deactivate');
          if (denied) return denied;
          if (step.kind === 'deactivate' && target?.id === actor.id) return refuse('FORBIDDEN', 'self');
          const inactive = active(actor);
          if (inactive) return inactive;
          if (!target) return refuse('NOT_FOUND', 'no such user');
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({ id: target.id, active: step.kind === 'reactivate' });
              target.active = step.kind === 'reactivate';
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'policy': {
        const actor = actorOf(step.actor);
        const [category, role] = POLICY_KEYS[step.key] as (typeof POLICY_KEYS)[number];
        const op = step.op;
        const a = { id: actor.id, role: actor.role };
        const call = () =>
          op === 'delete'
            ? services.policies.delete(a, { category, role })
            : op === 'upsert'
              ? services.policies.upsert(a, defaultRule(category, role))
              : services.policies.update(a, { category, role, ...op.update });
        const label = `policy ${typeof op === 'string' ? op : `update ${JSON.stringify(op.update)}`} ${category} × ${role} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'policy:manage') ?? active(actor);
          if (denied) return denied;
          const index = model.policies.findIndex((p) => p.category === category && p.role === role);
          if (op === 'upsert') {
            const rule = defaultRule(category, role);
            return {
              ok: true,
              apply: () => {
                if (index >= 0) model.policies[index] = rule;
                else model.policies.push(rule);
              },
            };
          }
          if (index < 0) return refuse('NOT_FOUND', 'no such policy');
          return {
            ok: true,
            apply: () => {
              if (op === 'delete') model.policies.splice(index, 1);
              else model.policies[index] = { ...(model.policies[index] as LoanPolicyRule), ...op.update };
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'reserve': {
        const actor = model.people[step.who.actor] as MUser;
        const borrowerId =
          step.who.borrower === 'self'
            ? actor.id
            : step.who.borrower === 'missing'
              ? MISSING_ID
              : (model.people[step.who.borrower] as MUser).id;
        const premium = model.entries[1] as MEntry;
        const copy =
          'copy' in step.target
            ? choose(
                step.target.copy,
                model.copies,
                (c) => c.entry === premium.id && (c.status === 'disponible' || c.status === 'prestado'),
              )
            : undefined;
        const entryPick = 'entry' in step.target ? step.target.entry : undefined;
        const startsAt = Math.ceil(now / HOUR) * HOUR + step.startHour * HOUR;
        const endsAt = startsAt + step.hours * HOUR;
        const input = {
          ...(borrowerId === actor.id ? {} : { borrowerId }),
          ...('copy' in step.target
            ? { copyId: copy?.id ?? MISSING_ID }
            : {
                catalogEntryId: entryPick === 'missing' ? MISSING_ID : model.entries[entryPick as 0 | 1]?.id,
                quantity: step.quantity,
              }),
          startsAt: new Date(startsAt),
          endsAt: new Date(endsAt),
        };
        const call = () => services.reservations.reserve({ id: actor.id, role: actor.role }, input);
        const label = `reserve ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied =
            gate(actor, 'reservation:request:own') ??
            (borrowerId !== actor.id ? gate(actor, 'reservation:request:any') : null) ??
            active(actor);
          if (denied) return denied;
          if ('copy' in step.target && !copy) return refuse('NOT_FOUND', 'no such copy');
          const entry = copy
            ? (model.entry(copy.entry) as MEntry)
            : entryPick === 'missing'
              ? undefined
              : model.entries[entryPick as 0 | 1];
          if (!entry) return refuse('NOT_FOUND', 'no such entry');
          const borrower = model.user(borrowerId);
          if (!borrower) return refuse('NOT_FOUND', 'no such borrower');
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          if (copy && copy.status !== 'disponible' && copy.status !== 'prestado')
            return refuse('COPY_UNAVAILABLE', `copy is ${copy.status}`);
          const rules = reservationPolicy(entry.category, borrower.role);
          const lending = model.policy(entry.category, borrower.role);
          if (!rules || !lending)
            return refuse('POLICY_FORBIDS', `${borrower.role} may not book ${entry.category}`);
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          const quantity = copy ? 1 : step.quantity;
          if (quantity - 1 >= lending.maxActiveLoans)
            return refuse('LOAN_LIMIT_REACHED', `${quantity} > ${lending.maxActiveLoans}`);
          if (startsAt < now) return refuse('VALIDATION_FAILED', 'starts in the past');
          if (startsAt > now + rules.maxAdvanceDays * DAY) return refuse('POLICY_FORBIDS', 'too far ahead');
          if (endsAt - startsAt > rules.maxDurationMinutes * MINUTE)
            return refuse('POLICY_FORBIDS', 'too long');
          const blocksUntil = endsAt + rules.bufferMinutes * MINUTE;
          if (copy && model.copyCommitments(copy.id, startsAt, blocksUntil).length > 0)
            return refuse('COPY_UNAVAILABLE', 'the copy is held over that range');
          const full = model.firstOver(entry.id, startsAt, blocksUntil, quantity);
          if (full !== null) return refuse('COPY_UNAVAILABLE', `full at ${new Date(full).toISOString()}`);
          const status: ReservationStatus = rules.approvalRequired ? 'solicitada' : 'confirmada';
          return {
            ok: true,
            tag: `${copy ? 'copy' : `×${quantity}`}, ${status}`,
            apply: (result) => {
              const view = result as { id: number };
              const pickupDeadline = startsAt + rules.pickupWindowMinutes * MINUTE;
              expect(view).toMatchObject({
                borrowerId: borrower.id,
                catalogEntryId: entry.id,
                copyId: copy?.id ?? null,
                quantity,
                startsAt: new Date(startsAt),
                endsAt: new Date(endsAt),
                blocksUntil: new Date(blocksUntil),
                pickupDeadline: new Date(pickupDeadline),
                status,
              });
              model.reservations.push({
                id: view.id,
                borrower: borrower.id,
                entry: entry.id,
                copy: copy?.id ?? null,
                quantity,
                startsAt,
                endsAt,
                blocksUntil,
                pickupDeadline,
                status,
                loanIds: [],
                events: rules.approvalRequired ? 1 : 2,
              });
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'confirmReservation':
      case 'cancelReservation': {
        const confirming = step.kind === 'confirmReservation';
        const reservation = choose(step.reservation, model.reservations, (r) =>
          confirming ? r.status === 'solicitada' : HOLDING.includes(r.status),
        );
        const actor =
          step.actor === 'owner'
            ? (model.user(reservation?.borrower ?? -1) ?? (model.people[3] as MUser))
            : (model.people[step.actor] as MUser);
        const input = { reservationId: reservation?.id ?? MISSING_ID };
        const a = { id: actor.id, role: actor.role };
        const call = () =>
          confirming ? services.reservations.confirm(a, input) : services.reservations.cancel(a, input);
        const label = `${step.kind} ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied =
            gate(actor, confirming ? 'reservation:confirm' : 'reservation:cancel:own') ?? active(actor);
          if (denied) return denied;
          if (!reservation) return refuse('NOT_FOUND', 'no such reservation');
          if (!confirming && reservation.borrower !== actor.id && !can(actor.role, 'reservation:cancel:any'))
            return refuse('FORBIDDEN', "another borrower's reservation");
          if (confirming ? reservation.status !== 'solicitada' : !HOLDING.includes(reservation.status))
            return refuse('INVALID_TRANSITION', `reservation is ${reservation.status}`);
          const to: ReservationStatus = confirming ? 'confirmada' : 'cancelada';
          return {
            ok: true,
            apply: (result) => {
              expect(result).toMatchObject({ id: reservation.id, status: to });
              reservation.status = to;
              reservation.events += 1;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'pickUp': {
        // Bookings in their pickup window first (else the early pickups take them all), then any confirmed one.
        const inWindow = (r: MReservation) =>
          r.status === 'confirmada' && r.startsAt <= now && now < r.pickupDeadline;
        const reservation = choose(
          step.reservation,
          model.reservations,
          model.reservations.some(inWindow) ? inWindow : (r) => r.status === 'confirmada',
        );
        const actor =
          step.actor === 'owner'
            ? (model.user(reservation?.borrower ?? -1) ?? (model.people[1] as MUser))
            : (model.people[step.actor] as MUser);
        const input = { reservationId: reservation?.id ?? MISSING_ID };
        const call = () => services.reservations.pickUp({ id: actor.id, role: actor.role }, input);
        const label = `pickUp ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'reservation:pickup') ?? active(actor);
          if (denied) return denied;
          if (!reservation) return refuse('NOT_FOUND', 'no such reservation');
          const r = reservation;
          if (r.status !== 'confirmada') return refuse('INVALID_TRANSITION', `reservation is ${r.status}`);
          if (now >= r.pickupDeadline) return refuse('INVALID_TRANSITION', 'pickup window passed');
          const borrower = model.user(r.borrower) as MUser;
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          const entry = model.entry(r.entry) as MEntry;
          const policy = model.policy(entry.category, borrower.role);
          if (!policy) return refuse('POLICY_FORBIDS', `${borrower.role} × ${entry.category} (deleted)`);
          const activeLoans = model.activeInCategory(borrower.id, entry.category);
          if (activeLoans + r.quantity - 1 >= policy.maxActiveLoans)
            return refuse('LOAN_LIMIT_REACHED', `${activeLoans} active + ${r.quantity}`);
          if (now < r.startsAt) {
            // Early: the loans also hold [now, startsAt).
            if (
              r.copy !== null &&
              model.copyCommitments(r.copy, now, r.blocksUntil, { reservation: r.id }).length
            )
              return refuse('COPY_UNAVAILABLE', 'the copy is held before the booking');
            if (model.firstOver(entry.id, now, r.blocksUntil, r.quantity, { reservation: r.id }) !== null)
              return refuse('COPY_UNAVAILABLE', 'no room before the booking');
          }
          let copies: MCopy[];
          if (r.copy !== null) {
            copies = [model.copy(r.copy) as MCopy];
          } else {
            // The first available copies neither set aside for a hold nor held by another booking
            // of a named copy.
            copies = model.copies
              .filter(
                (c) =>
                  c.entry === entry.id &&
                  c.status === 'disponible' &&
                  !model.setAside(c.id) &&
                  !model.reservations.some(
                    (o) =>
                      o.copy === c.id &&
                      o.id !== r.id &&
                      HOLDING.includes(o.status) &&
                      o.startsAt < r.blocksUntil &&
                      o.blocksUntil > now,
                  ),
              )
              .sort((x, y) => x.sequence - y.sequence)
              .slice(0, r.quantity);
            if (copies.length < r.quantity) return refuse('COPY_UNAVAILABLE', `only ${copies.length} free`);
          }
          const unavailable = copies.find((c) => c.status !== 'disponible');
          if (unavailable) return refuse('COPY_UNAVAILABLE', `copy is ${unavailable.status}`);
          // The named copy set aside for a hold (whatever its deadline, until swept): refused.
          const setAside = copies.find((c) => model.setAside(c.id));
          if (setAside)
            return refuse('COPY_UNAVAILABLE', `copy ${setAside.id} is set aside for a hold (held)`);
          const terms = { ...policy };
          return {
            ok: true,
            tag: now < r.startsAt ? 'early' : 'in the window',
            apply: (result) => {
              const { reservation: view, loans } = result as {
                reservation: { status: string; loanIds: number[] };
                loans: { id: number; copyId: number; status: string; dueDate: Date }[];
              };
              expect(view.status).toBe('recogida');
              expect(
                loans.map((l) => [l.copyId, l.status, l.dueDate]),
                label,
              ).toEqual(copies.map((c) => [c.id, 'aprobado', new Date(r.endsAt)]));
              expect(view.loanIds).toEqual(loans.map((l) => l.id));
              for (const [k, loan] of loans.entries()) {
                const copy = copies[k] as MCopy;
                model.loans.push({
                  id: loan.id,
                  borrower: borrower.id,
                  entry: entry.id,
                  copy: copy.id,
                  status: 'aprobado',
                  requestDate: now,
                  requestedDue: r.endsAt,
                  approvalDate: now,
                  dueDate: r.endsAt,
                  returnDate: null,
                  renewalCount: 0,
                  finalPenalty: 0,
                  settlement: null,
                  terms,
                  events: 2,
                });
                copy.status = 'prestado';
              }
              r.status = 'recogida';
              r.loanIds = loans.map((l) => l.id);
              r.events += 1;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'recordNoShows': {
        const actor =
          step.actor === 'owner' ? (model.people[1] as MUser) : (model.people[step.actor] as MUser);
        const call = () => services.reservations.recordNoShows({ id: actor.id, role: actor.role }, {});
        const label = `recordNoShows at ${new Date(now).toISOString()} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'reservation:expire') ?? active(actor);
          if (denied) return denied;
          const due = model.reservations
            .filter((r) => HOLDING.includes(r.status) && r.pickupDeadline <= now)
            .sort((x, y) => x.pickupDeadline - y.pickupDeadline || x.id - y.id);
          return {
            ok: true,
            apply: (result) => {
              expect((result as { reservationIds: number[] }).reservationIds).toEqual(due.map((r) => r.id));
              for (const r of due) {
                r.status = 'no_recogida';
                r.events += 1;
              }
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'placeHold': {
        const actor = model.people[step.actor] as MUser;
        const borrowerId =
          step.borrower === 'self'
            ? actor.id
            : step.borrower === 'missing'
              ? MISSING_ID
              : (model.people[step.borrower] as MUser).id;
        const entry =
          step.entry === 'missing'
            ? undefined
            : step.entry === 'busy'
              ? (model.entries.find((e) => !model.copyFreeNow(e.id)) ?? model.entries[0])
              : model.entries[step.entry];
        const input = {
          catalogEntryId: entry?.id ?? MISSING_ID,
          ...(borrowerId === actor.id ? {} : { borrowerId }),
        };
        const call = () => services.holds.placeHold({ id: actor.id, role: actor.role }, input);
        const label = `placeHold ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied =
            gate(actor, 'hold:place:own') ??
            (borrowerId !== actor.id ? gate(actor, 'hold:place:any') : null) ??
            active(actor);
          if (denied) return denied;
          if (!entry) return refuse('NOT_FOUND', 'no such entry');
          const borrower = model.user(borrowerId);
          if (!borrower) return refuse('NOT_FOUND', 'no such borrower');
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          if (!model.policy(entry.category, borrower.role))
            return refuse('POLICY_FORBIDS', `${borrower.role} × ${entry.category}`);
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          if (
            model.loans.some(
              (l) => l.borrower === borrower.id && l.entry === entry.id && l.status === 'aprobado',
            )
          )
            return refuse('DUPLICATE', 'the title is on loan to the borrower');
          if (
            model.holds.some(
              (h) => h.borrower === borrower.id && h.entry === entry.id && ACTIVE_HOLD.includes(h.status),
            )
          )
            return refuse('DUPLICATE', 'the borrower already holds the title');
          if (model.copyFreeNow(entry.id)) return refuse('INVALID_TRANSITION', 'a copy can be lent now');
          const position = model.waiting(entry.id).length + 1;
          return {
            ok: true,
            tag: `position ${Math.min(position, 3)}${position > 3 ? '+' : ''}`,
            apply: (result) => {
              const view = result as { id: number };
              expect(view).toMatchObject({
                borrowerId: borrower.id,
                catalogEntryId: entry.id,
                status: 'en_espera',
                placedAt: new Date(now),
                position,
                copyId: null,
              });
              model.holds.push({
                id: view.id,
                borrower: borrower.id,
                entry: entry.id,
                status: 'en_espera',
                placedAt: now,
                copy: null,
                readyAt: null,
                expiresAt: null,
                loanId: null,
                events: 1,
              });
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'cancelHold': {
        const hold = choose(step.hold, model.holds, (h) => ACTIVE_HOLD.includes(h.status));
        const actor =
          step.actor === 'owner'
            ? (model.user(hold?.borrower ?? -1) ?? (model.people[2] as MUser))
            : (model.people[step.actor] as MUser);
        const input = { holdId: hold?.id ?? MISSING_ID, reason: 'model' };
        const call = () => services.holds.cancelHold({ id: actor.id, role: actor.role }, input);
        const label = `cancelHold ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'hold:cancel:own') ?? active(actor);
          if (denied) return denied;
          if (!hold) return refuse('NOT_FOUND', 'no such hold');
          if (!ACTIVE_HOLD.includes(hold.status))
            return refuse('INVALID_TRANSITION', `hold is ${hold.status}`);
          if (hold.borrower !== actor.id && !can(actor.role, 'hold:cancel:any'))
            return refuse('FORBIDDEN', "another borrower's hold");
          const was = hold.status;
          return {
            ok: true,
            tag: was,
            apply: (result) => {
              expect(result).toMatchObject({ id: hold.id, status: 'cancelada', cancelReason: 'model' });
              hold.status = 'cancelada';
              hold.events += 1;
              // A copy set aside goes to the next waiting hold.
              if (was === 'lista' && model.serve(hold.copy as number)) return 'copy passed on';
              return undefined;
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'fulfillHold': {
        const hold = choose(step.hold, model.holds, (h) => h.status === 'lista');
        const actor =
          step.actor === 'owner'
            ? (model.user(hold?.borrower ?? -1) ?? (model.people[1] as MUser))
            : (model.people[step.actor] as MUser);
        const input = { holdId: hold?.id ?? MISSING_ID };
        const call = () => services.holds.fulfillHold({ id: actor.id, role: actor.role }, input);
        const label = `fulfillHold ${JSON.stringify(input)} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'hold:fulfill') ?? active(actor);
          if (denied) return denied;
          if (!hold) return refuse('NOT_FOUND', 'no such hold');
          if (hold.status !== 'lista') return refuse('INVALID_TRANSITION', `hold is ${hold.status}`);
          if (now >= (hold.expiresAt as number)) return refuse('INVALID_TRANSITION', 'pickup window passed');
          const borrower = model.user(hold.borrower) as MUser;
          if (!borrower.active) return refuse('BORROWER_INACTIVE', 'borrower deactivated');
          if (model.blocked(borrower.id)) return refuse('BORROWER_BLOCKED', 'overdue or unsettled');
          const entry = model.entry(hold.entry) as MEntry;
          const policy = model.policy(entry.category, borrower.role);
          if (!policy) return refuse('POLICY_FORBIDS', `${borrower.role} × ${entry.category} (deleted)`);
          const activeLoans = model.activeInCategory(borrower.id, entry.category);
          if (activeLoans >= policy.maxActiveLoans)
            return refuse('LOAN_LIMIT_REACHED', `${activeLoans} active`);
          const copy = model.copy(hold.copy as number) as MCopy;
          if (copy.status !== 'disponible') return refuse('COPY_UNAVAILABLE', `copy is ${copy.status}`);
          // Due as an approval's, capped before a booking; the hold's own commitment is replaced.
          let due = now + policy.loanPeriod * UNIT_MS[policy.loanPeriodUnit];
          const buffer = bufferMs(entry.category, borrower.role);
          const first = model.firstReserved(entry.id, copy.id, due + buffer, { hold: hold.id });
          if (first) {
            if (first.at - buffer - now < MIN_GAP_LOAN_MS)
              return refuse('COPY_UNAVAILABLE', `booked from ${new Date(first.at).toISOString()}`);
            due = first.at - buffer;
          }
          const terms = { ...policy };
          return {
            ok: true,
            ...(first ? { tag: 'due capped by a booking' } : {}),
            apply: (result) => {
              const { hold: view, loan } = result as {
                hold: { id: number; status: string; loanId: number | null };
                loan: { id: number };
              };
              expect(view).toMatchObject({
                id: hold.id,
                status: 'cumplida',
                loanId: loan.id,
                copyId: copy.id,
              });
              expect(loan).toMatchObject({
                status: 'aprobado',
                borrowerId: borrower.id,
                copyId: copy.id,
                dueDate: new Date(due),
                terms: termsOf(terms),
              });
              hold.status = 'cumplida';
              hold.loanId = loan.id;
              hold.events += 1;
              model.loans.push({
                id: loan.id,
                borrower: borrower.id,
                entry: entry.id,
                copy: copy.id,
                status: 'aprobado',
                requestDate: now,
                requestedDue: null,
                approvalDate: now,
                dueDate: due,
                returnDate: null,
                renewalCount: 0,
                finalPenalty: 0,
                settlement: null,
                terms,
                events: 2,
              });
              copy.status = 'prestado';
            },
          };
        })();
        return { call, expect: expectation, label };
      }

      case 'expireHolds': {
        const actor =
          step.actor === 'owner' ? (model.people[1] as MUser) : (model.people[step.actor] as MUser);
        const call = () => services.holds.expireHolds({ id: actor.id, role: actor.role }, {});
        const label = `expireHolds at ${new Date(now).toISOString()} by ${actor.role}#${actor.id}`;
        const expectation = ((): Expectation => {
          const denied = gate(actor, 'hold:expire') ?? active(actor);
          if (denied) return denied;
          const due = model.holds
            .filter((h) => h.status === 'lista' && (h.expiresAt as number) <= now)
            .sort((x, y) => (x.expiresAt as number) - (y.expiresAt as number) || x.id - y.id);
          return {
            ok: true,
            ...(due.length > 0 ? { tag: 'some expired' } : {}),
            apply: (result) => {
              const setAside: number[] = [];
              for (const h of due) {
                h.status = 'vencida';
                h.events += 1;
                const next = model.serve(h.copy as number);
                if (next) setAside.push(next.id);
              }
              expect(result, label).toMatchObject({
                expired: due.map((h) => h.id),
                setAside,
                asOf: new Date(now),
              });
              return setAside.length > 0 ? 'copy passed on' : undefined;
            },
          };
        })();
        return { call, expect: expectation, label };
      }
    }
  }

  /** Compares the database with the model and checks the invariants with SQL. */
  /** What the reservation invariants compare with the previous step. */
  interface History {
    /** Reservation statuses. */
    reservations: Map<number, string>;
    /** Units over capacity per `entry@instant` (0 or more). */
    excess: Map<string, number>;
    /** Hold statuses. */
    holds: Map<number, string>;
    /** Copies free (`disponible`, not set aside) while a hold waits for their entry. */
    unserved: Set<number>;
  }

  async function verify(
    em: EntityManager,
    model: Model,
    previous: Map<number, string>,
    history: History,
    outside: boolean,
    label: string,
  ) {
    const connection = em.getConnection();
    const sql = async <T>(query: string) => (await connection.execute<T[]>(query)) as T[];

    // The database agrees with the model.
    const loans = await em.find(Loan, {}, { orderBy: { id: 'asc' } });
    expect(
      loans.map((l) => ({
        id: l.id,
        status: l.status,
        copy: l.copy?.id ?? null,
        requestDate: l.requestDate.getTime(),
        approvalDate: l.approvalDate?.getTime() ?? null,
        dueDate: l.dueDate?.getTime() ?? null,
        returnDate: l.returnDate?.getTime() ?? null,
        renewalCount: l.renewalCount,
        finalPenalty: l.finalPenalty,
        settlement: l.penaltySettlement ?? null,
        terms:
          l.termsLoanPeriod == null
            ? null
            : {
                loanPeriod: l.termsLoanPeriod,
                loanPeriodUnit: l.termsLoanPeriodUnit,
                maxRenewals: l.termsMaxRenewals,
                fineAmount: l.termsFineAmount,
                fineInterval: l.termsFineInterval,
                gracePeriodMinutes: l.termsGracePeriodMinutes,
                graceMode: l.termsGraceMode,
                intervalRounding: l.termsIntervalRounding,
                maxFine: l.termsMaxFine,
                capAtReplacementCost: l.termsCapAtReplacementCost,
              },
      })),
      `loans after ${label}`,
    ).toEqual(
      model.loans.map((l) => ({
        id: l.id,
        status: l.status,
        copy: l.copy,
        requestDate: l.requestDate,
        approvalDate: l.approvalDate,
        dueDate: l.dueDate,
        returnDate: l.returnDate,
        renewalCount: l.renewalCount,
        finalPenalty: l.finalPenalty,
        settlement: l.settlement,
        terms: termsOf(l.terms),
      })),
    );
    const policies = await em.find(LoanPolicy, {}, { orderBy: { category: 'asc', role: 'asc' } });
    const key = (p: { category: string; role: string }) => `${p.category}/${p.role}`;
    expect(
      policies.map((p) => [key(p), termsOf(p), p.maxActiveLoans, p.environmentRequired]),
      `policies after ${label}`,
    ).toEqual(
      [...model.policies]
        .sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0))
        .map((p) => [key(p), termsOf(p), p.maxActiveLoans, p.environmentRequired]),
    );
    const copies = await em.find(ItemInstance, {}, { orderBy: { id: 'asc' } });
    expect(
      copies.map((c) => [c.id, c.status]),
      `copies after ${label}`,
    ).toEqual(model.copies.map((c) => [c.id, c.status]));
    const users = await em.find(User, {}, { orderBy: { id: 'asc' } });
    expect(users.map((u) => [u.id, u.active])).toEqual(model.people.map((u) => [u.id, u.active]));

    // A copy is prestado iff exactly one aprobado loan holds it.
    const holders = await sql<{ id: number; status: string; holders: number | string }>(
      `select i.id, i.status,
              (select count(*) from swl_loan l where l.instance_id = i.id and l.status = 'aprobado') as holders
         from swl_item_instance i order by i.id`,
    );
    for (const row of holders) {
      expect(Number(row.holders), `holders of copy ${row.id}`).toBeLessThanOrEqual(1);
      expect(row.status === 'prestado', `copy ${row.id} is ${row.status} with ${row.holders} holder(s)`).toBe(
        Number(row.holders) === 1,
      );
    }

    // No loan leaves a terminal state.
    const statuses = await sql<{ id: number; status: string }>('select id, status from swl_loan order by id');
    for (const { id, status } of statuses) {
      const before = previous.get(Number(id));
      if (before === 'devuelto' || before === 'rechazado')
        expect(status, `loan ${id} left ${before}`).toBe(before);
      previous.set(Number(id), status);
    }

    // Exactly one event per transition; the last event leads to the loan's status.
    const events = await sql<{ loan_id: number; n: number | string }>(
      'select loan_id, count(*) as n from swl_loan_event group by loan_id order by loan_id',
    );
    expect(
      events.map((r) => [Number(r.loan_id), Number(r.n)]),
      `events per loan after ${label}`,
    ).toEqual(model.loans.filter((l) => l.events > 0).map((l) => [l.id, l.events]));
    const lastEventMismatch = await sql<{ n: number | string }>(
      `select count(*) as n from swl_loan l
        where l.status <> (select e.to_status from swl_loan_event e where e.loan_id = l.id order by e.id desc limit 1)`,
    );
    expect(Number(lastEventMismatch[0]?.n)).toBe(0);

    // Penalties are integers in 0..MAX_MONEY that add up (held at MAX_MONEY). 64-bit columns come
    // back as strings from PostgreSQL and as numbers from SQLite: read both exactly as BigInt.
    const money = await sql<{ final_penalty: unknown; overdue_fine: unknown; replacement_charge: unknown }>(
      'select final_penalty, overdue_fine, replacement_charge from swl_loan',
    );
    for (const row of money) {
      const [final, fine, replacement] = [row.final_penalty, row.overdue_fine, row.replacement_charge].map(
        (value) => {
          expect(String(value), `penalty ${String(value)} is an integer`).toMatch(/^\d+$/);
          const exact = BigInt(String(value));
          expect(exact <= BIG_MAX_MONEY, `penalty ${String(value)} ≤ MAX_MONEY`).toBe(true);
          return exact;
        },
      ) as [bigint, bigint, bigint];
      const sum = fine + replacement;
      expect(final).toBe(sum > BIG_MAX_MONEY ? BIG_MAX_MONEY : sum);
    }

    // Dates: returned loans have return ≥ approval ≥ request; approved ones a copy and dates.
    const badDates = await sql<{ n: number | string }>(
      `select count(*) as n from swl_loan
        where (status = 'devuelto' and (return_date is null or approval_date is null
                or return_date < approval_date or approval_date < request_date))
           or (status = 'aprobado' and (instance_id is null or approval_date is null or due_date is null
                or approval_date < request_date or due_date <= approval_date))`,
    );
    expect(Number(badDates[0]?.n), `loans with inconsistent dates after ${label}`).toBe(0);

    // Reservations agree with the model.
    const reservations = await em.find(Reservation, {}, { orderBy: { id: 'asc' } });
    expect(
      reservations.map((r) => ({
        id: r.id,
        borrower: r.borrower.id,
        entry: r.catalogEntry.id,
        copy: r.copy?.id ?? null,
        quantity: r.quantity,
        startsAt: r.startsAt.getTime(),
        endsAt: r.endsAt.getTime(),
        blocksUntil: r.blocksUntil.getTime(),
        pickupDeadline: r.pickupDeadline.getTime(),
        status: r.status,
        loanIds: r.loanIds ?? [],
      })),
      `reservations after ${label}`,
    ).toEqual(
      model.reservations.map((r) => ({
        id: r.id,
        borrower: r.borrower,
        entry: r.entry,
        copy: r.copy,
        quantity: r.quantity,
        startsAt: r.startsAt,
        endsAt: r.endsAt,
        blocksUntil: r.blocksUntil,
        pickupDeadline: r.pickupDeadline,
        status: r.status,
        loanIds: r.loanIds,
      })),
    );

    // No reservation leaves a terminal status.
    for (const r of reservations) {
      const before = history.reservations.get(r.id);
      if (before === 'recogida' || before === 'cancelada' || before === 'no_recogida')
        expect(r.status, `reservation ${r.id} left ${before}`).toBe(before);
      history.reservations.set(r.id, r.status);
    }

    // Exactly one event per reservation transition; the last one leads to the status.
    const reservationEvents = await sql<{ reservation_id: number; n: number | string }>(
      `select reservation_id, count(*) as n from swl_reservation_event
        group by reservation_id order by reservation_id`,
    );
    expect(
      reservationEvents.map((r) => [Number(r.reservation_id), Number(r.n)]),
      `events per reservation after ${label}`,
    ).toEqual(model.reservations.map((r) => [r.id, r.events]));
    const lastReservationEvent = await sql<{ n: number | string }>(
      `select count(*) as n from swl_reservation r
        where r.status <> (select e.to_status from swl_reservation_event e
                            where e.reservation_id = r.id order by e.id desc limit 1)`,
    );
    expect(Number(lastReservationEvent[0]?.n), `reservations whose last event disagrees after ${label}`).toBe(
      0,
    );

    // A named copy never has two overlapping holding bookings.
    const overlapping = await sql<{ a: number; b: number }>(
      `select a.id as a, b.id as b from swl_reservation a
         join swl_reservation b on b.instance_id = a.instance_id and b.id > a.id
        where a.status in ('solicitada', 'confirmada') and b.status in ('solicitada', 'confirmada')
          and a.starts_at < b.blocks_until and b.starts_at < a.blocks_until`,
    );
    expect(overlapping, `overlapping bookings of one copy after ${label}`).toEqual([]);

    // Holds agree with the model.
    const holdRows = await sql<{
      id: number;
      borrower_id: number;
      catalog_entry_id: number;
      status: string;
      placed_at: StoredInstant;
      instance_id: number | null;
      ready_at: StoredInstant | null;
      expires_at: StoredInstant | null;
      loan_id: number | null;
    }>(
      `select id, borrower_id, catalog_entry_id, status, placed_at, instance_id, ready_at, expires_at, loan_id
         from swl_hold order by id`,
    );
    const instant = (v: StoredInstant | null) => (v === null ? null : toInstant(v).getTime());
    const id = (v: number | string | null) => (v === null ? null : Number(v));
    expect(
      holdRows.map((h) => ({
        id: Number(h.id),
        borrower: Number(h.borrower_id),
        entry: Number(h.catalog_entry_id),
        status: h.status,
        placedAt: instant(h.placed_at),
        copy: id(h.instance_id),
        readyAt: instant(h.ready_at),
        expiresAt: instant(h.expires_at),
        loanId: id(h.loan_id),
      })),
      `holds after ${label}`,
    ).toEqual(
      model.holds.map((h) => ({
        id: h.id,
        borrower: h.borrower,
        entry: h.entry,
        status: h.status,
        placedAt: h.placedAt,
        copy: h.copy,
        readyAt: h.readyAt,
        expiresAt: h.expiresAt,
        loanId: h.loanId,
      })),
    );

    // No hold leaves a terminal status.
    for (const h of holdRows) {
      const before = history.holds.get(Number(h.id));
      if (before === 'cumplida' || before === 'cancelada' || before === 'vencida')
        expect(h.status, `hold ${h.id} left ${before}`).toBe(before);
      history.holds.set(Number(h.id), h.status);
    }

    // Exactly one event per hold transition; the last one leads to the status.
    const holdEvents = await sql<{ hold_id: number; n: number | string; last: number | string }>(
      `select hold_id, count(*) as n, max(id) as last from swl_hold_event group by hold_id order by hold_id`,
    );
    expect(
      holdEvents.map((r) => [Number(r.hold_id), Number(r.n)]),
      `events per hold after ${label}`,
    ).toEqual(model.holds.map((h) => [h.id, h.events]));
    const lastHoldEvent = await sql<{ n: number | string }>(
      `select count(*) as n from swl_hold h
        where h.status <> (select e.to_status from swl_hold_event e where e.hold_id = h.id order by e.id desc limit 1)`,
    );
    expect(Number(lastHoldEvent[0]?.n), `holds whose last event disagrees after ${label}`).toBe(0);

    // A lista hold's copy is disponible and a copy of its entry; at most one lista hold per copy,
    // one active hold per borrower and entry.
    const ready = await sql<{
      id: number;
      copy: number | null;
      status: string | null;
      copy_entry: number | null;
      entry: number;
    }>(
      `select h.id, h.instance_id as copy, i.status, i.catalog_entry_id as copy_entry, h.catalog_entry_id as entry
         from swl_hold h left join swl_item_instance i on i.id = h.instance_id
        where h.status = 'lista' order by h.id`,
    );
    for (const r of ready) {
      expect(
        [r.status, id(r.copy_entry)],
        `lista hold ${r.id}: copy ${r.copy} is ${r.status} (entry ${r.copy_entry}) after ${label}`,
      ).toEqual(['disponible', Number(r.entry)]);
    }
    const doubled = await sql<{ k: string }>(
      `select 'copy ' || instance_id as k from swl_hold where status = 'lista'
        group by instance_id having count(*) > 1
       union all
       select 'borrower ' || borrower_id || ' entry ' || catalog_entry_id from swl_hold
        where status in ('en_espera', 'lista') group by borrower_id, catalog_entry_id having count(*) > 1`,
    );
    expect(
      doubled,
      `two lista holds of a copy, or two active holds of a borrower for a title, after ${label}`,
    ).toEqual([]);

    // The queue: waiting holds at positions 1..n by (placedAt, id), as HoldService reads them.
    for (const entry of model.entries) {
      const waiting = model.waiting(entry.id);
      const listed = model.holds
        .filter((h) => h.entry === entry.id && h.status === 'lista')
        .sort((a, b) => (a.expiresAt as number) - (b.expiresAt as number) || a.id - b.id);
      if (waiting.length === 0 && listed.length === 0) continue;
      const queue = await new HoldService(em.fork()).holdQueue(
        { id: (model.people[0] as MUser).id, role: 'admin' },
        { catalogEntryId: entry.id },
      );
      expect(
        {
          waiting: queue.waiting.map((h) => [h.id, h.position]),
          awaitingPickup: queue.awaitingPickup.map((h) => [h.id, h.position]),
        },
        `queue of entry ${entry.id} after ${label}`,
      ).toEqual({
        waiting: waiting.map((h, k) => [h.id, k + 1]),
        awaitingPickup: listed.map((h) => [h.id, null]),
      });
    }

    // The queue is served when a copy becomes free. A copy that becomes free (disponible, not set
    // aside) while a hold waits for its title — checked in ok, repaired, found, or released by a
    // cancelled or expired hold — or that is free when a hold is placed, is one serveHolds refuses
    // then: the copy or the stock is committed before the pickup deadline (checked with the
    // longest pickup window among the waiting holds: a refusal within the first hold's window is
    // one within any longer window). Nothing re-serves a copy later: once free, it stays free
    // while a booking is cancelled, a loan ends elsewhere or the clock passes the booking — those
    // copies are carried over from step to step, not checked again.
    const free = await sql<{ id: number; entry: number }>(
      `select i.id, i.catalog_entry_id as entry from swl_item_instance i
        where i.status = 'disponible'
          and not exists (select 1 from swl_hold h where h.instance_id = i.id and h.status = 'lista')
          and exists (select 1 from swl_hold w where w.catalog_entry_id = i.catalog_entry_id and w.status = 'en_espera')
        order by i.id`,
    );
    const unserved = new Set<number>();
    for (const row of free) {
      const copy = Number(row.id);
      unserved.add(copy);
      if (history.unserved.has(copy) || model.notOffered.has(copy)) continue;
      const window = Math.max(
        ...model.waiting(Number(row.entry)).map((h) => model.pickupWindowMs(h.entry, h.borrower)),
      );
      expect(
        model.serveRefuses(copy, window),
        `copy ${copy} is free while a hold waits for its title after ${label}`,
      ).toBe(true);
    }
    history.unserved = unserved;
    model.notOffered.clear();

    // No instant with more commitments than copies. At every instant where a commitment starts
    // (a holding booking's start, an approved loan's approval) and now: the units of the holding
    // bookings, plus the approved loans (from approval to due + the buffer of their borrower's
    // booking policy, for ever once overdue), within the lendable copies. Only the clock and copies
    // leaving the stock (outsideTheDesk) may take an entry over; no command may then add to it.
    const postgres = dialect === 'postgresql';
    const at = postgres ? `'${new Date(model.now).toISOString()}'::timestamptz` : String(model.now);
    const loanEnd = postgres
      ? 'l.due_date + make_interval(mins => coalesce(p.buffer_minutes, 0))'
      : 'l.due_date + coalesce(p.buffer_minutes, 0) * 60000';
    const stock = await sql<{
      entry: number;
      at: StoredInstant;
      booked: number | string;
      lent: number | string;
      capacity: number | string;
    }>(
      `with held as (
         select catalog_entry_id as entry, starts_at as s, blocks_until as e, quantity as n
           from swl_reservation where status in ('solicitada', 'confirmada')
         union all
         select catalog_entry_id, ready_at, expires_at, 1 from swl_hold where status = 'lista'),
       lent as (
         select l.catalog_entry_id as entry, l.approval_date as s, ${loanEnd} as e,
                case when l.due_date < ${at} then 1 else 0 end as overdue
           from swl_loan l
           join swl_user u on u.id = l.borrower_id
           join swl_catalog c on c.id = l.catalog_entry_id
           left join swl_reservation_policy p on p.category = c.category and p.role = u.role
          where l.status = 'aprobado'),
       instants as (
         select entry, s as at from held
         union select entry, s from lent
         union select id, ${at} from swl_catalog)
       select i.entry, i.at,
              (select coalesce(sum(h.n), 0) from held h where h.entry = i.entry and h.s <= i.at and h.e > i.at) as booked,
              (select count(*) from lent l where l.entry = i.entry and l.s <= i.at and (l.overdue = 1 or l.e > i.at)) as lent,
              (select count(*) from swl_item_instance c
                where c.catalog_entry_id = i.entry and c.status in ('disponible', 'prestado')) as capacity
         from instants i order by i.entry, i.at`,
    );
    const excess = new Map<string, number>();
    for (const row of stock) {
      const key = `${Number(row.entry)}@${toInstant(row.at).toISOString()}`;
      const over = Number(row.booked) + Number(row.lent) - Number(row.capacity);
      excess.set(key, Math.max(0, over));
      if (over > 0 && !outside) {
        expect(
          over,
          `entry ${row.entry} at ${key}: ${row.booked} booked + ${row.lent} lent > ${row.capacity} copies after ${label}`,
        ).toBeLessThanOrEqual(history.excess.get(key) ?? 0);
      }
    }
    history.excess = excess;
  }

  it('random command sequences by random actors agree with the model, and the invariants hold after every step', async () => {
    // Shrinking replays whole sequences against the database; after SHRINK_MS it stops (runs are
    // reported as passing) and fast-check prints the smallest counterexample found so far.
    let firstFailureAt: number | undefined;
    await fc.assert(
      fc.asyncProperty(
        // Half the runs with the holds mix.
        fc
          .boolean()
          .chain((holds) =>
            fc.tuple(
              datasetArbFor(holds),
              fc.array(stepArbFor(holds), { minLength: Math.min(20, STEPS), maxLength: STEPS, size: 'max' }),
            ),
          ),
        async ([dataset, steps]) => {
          if (firstFailureAt !== undefined && Date.now() - firstFailureAt > SHRINK_MS) return;
          try {
            await replay(dataset, steps);
          } catch (error) {
            firstFailureAt ??= Date.now();
            throw error;
          }
        },
      ),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), ...(PATH ? { path: PATH } : {}) },
    );
  }, 600_000);

  async function replay(dataset: Dataset, steps: Step[]) {
    await reset(t.orm);
    const model = await build(dataset);
    const clock = new ManualClock(model.now);
    const previous = new Map<number, string>();
    const history: History = {
      reservations: new Map(),
      excess: new Map(),
      holds: new Map(),
      unserved: new Set(),
    };
    for (const step of steps) {
      if (step.kind === 'advance') {
        // To the next start of a holding booking (else the next full hour), plus 0/10/29/30 min.
        const nextStart = Math.min(
          Math.floor(model.now / HOUR) * HOUR + HOUR,
          ...model.reservations
            .filter((r) => HOLDING.includes(r.status) && r.startsAt > model.now)
            .map((r) => r.startsAt),
        );
        // Or to the next pickup deadline of a hold (else the next full hour), minus 1 or 0 min.
        const nextDeadline = Math.min(
          Math.floor(model.now / HOUR) * HOUR + HOUR,
          ...model.holds
            .filter((h) => h.status === 'lista' && (h.expiresAt as number) > model.now)
            .map((h) => h.expiresAt as number),
        );
        const minutes =
          'minutes' in step
            ? step.minutes
            : 'pastNextHour' in step
              ? (nextStart - model.now) / MINUTE + step.pastNextHour
              : Math.max(1, (nextDeadline - model.now) / MINUTE + step.holdDeadline);
        clock.advance({ minutes });
        model.now = clock.now().getTime();
        await verify(t.orm.em.fork(), model, previous, history, true, `advance ${minutes} min`);
        continue;
      }
      // A fresh fork per command, as a host gives each request its own EntityManager.
      const services = {
        ...openServices(t.orm, { clock }),
        reservations: new ReservationService(t.orm.em.fork(), { clock }),
      };
      const { call, expect: expected, label } = plan(step, model, services);
      const op = 'op' in step ? `:${typeof step.op === 'string' ? step.op : 'update'}` : '';
      const key = `${step.kind}${op} → ${expected.ok ? `ok${expected.tag ? ` (${expected.tag})` : ''}` : expected.code}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (expected.ok) {
        const result = await call().catch((error: unknown) => {
          throw new Error(
            `${label}: the model expected success, got ${error instanceof SwlError ? `${error.code} ${error.message}` : String(error)}`,
            { cause: error },
          );
        });
        const happened = expected.apply(result);
        if (happened)
          tally.set(`${step.kind} → ok: ${happened}`, (tally.get(`${step.kind} → ok: ${happened}`) ?? 0) + 1);
      } else {
        await expectSwlError(call, expected.code, `${label}: expected ${expected.code} (${expected.why})`);
      }
      await verify(t.orm.em.fork(), model, previous, history, outsideTheDesk(step), label);
    }
  }

  it('found by the model: markFound does not take a copy out of maintenance, repair does not bring back a lost copy', async () => {
    await reset(t.orm);
    const model = await build({
      thirdBorrower: 'student',
      generalCopies: 2,
      premiumCopies: 2,
      generalReplacementCost: 0,
    });
    const staff = { id: (model.people[1] as MUser).id, role: 'staff' as const };
    const [inRepair, lost] = model.copies as [MCopy, MCopy];
    const catalog = () => new CatalogService(t.orm.em.fork());
    await catalog().sendToMaintenance(staff, { copyId: inRepair.id });
    await catalog().markLost(staff, { copyId: lost.id });
    const events = await t.orm.em.fork().count(CopyEvent);

    const notFound = await expectSwlError(
      catalog().markFound(staff, { copyId: inRepair.id }),
      'INVALID_TRANSITION',
    );
    expect(notFound.details).toMatchObject({ from: 'mantenimiento', operation: 'markFound' });
    const notRepaired = await expectSwlError(
      catalog().repair(staff, { copyId: lost.id }),
      'INVALID_TRANSITION',
    );
    expect(notRepaired.details).toMatchObject({ from: 'perdido', operation: 'repair' });

    const em = t.orm.em.fork();
    expect((await em.findOneOrFail(ItemInstance, inRepair.id)).status).toBe('mantenimiento');
    expect((await em.findOneOrFail(ItemInstance, lost.id)).status).toBe('perdido');
    expect(await em.count(CopyEvent)).toBe(events);
    // The right operations still work, and record the right event.
    expect((await catalog().repair(staff, { copyId: inRepair.id })).status).toBe('disponible');
    expect((await catalog().markFound(staff, { copyId: lost.id })).status).toBe('disponible');
    const types = (await t.orm.em.fork().find(CopyEvent, {}, { orderBy: { id: 'asc' } })).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['repaired', 'found']);
  });
});
