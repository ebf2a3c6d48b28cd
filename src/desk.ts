/**
 * What a host's transport layer needs around the services: {@link deskServices}, the nine services
 * of one request on one EntityManager, and {@link withRetry}, which repeats a command that lost a
 * race. Source: issue 13 (what a host's transport layer needs); docs/DESIGN.md §6 (error codes).
 *
 * @module
 */
import { EntityManager, type MikroORM } from '@mikro-orm/core';
import { CatalogService } from './catalog/catalog.service.ts';
import { SwlError } from './errors.ts';
import { HoldService } from './holds/hold.service.ts';
import type { ServiceOptions } from './internal/service-base.ts';
import { LoanService } from './loans/loan.service.ts';
import { NoticeService } from './notices/notice.service.ts';
import { PolicyService } from './policies/policy.service.ts';
import { ReportService } from './reports/report.service.ts';
import { ReservationService } from './reservations/reservation.service.ts';
import { UserService, type UserServiceOptions } from './users/user.service.ts';
import { VisitorLogService } from './visitors/visitor-log.service.ts';

/** The nine services of one request, all on the same EntityManager, clock and event bus. */
export interface DeskServices {
  /** Loan requests, approvals, renewals, returns, penalties and the borrower's standing. */
  loans: LoanService;
  /** Catalog entries, copies and the copy state machine. */
  catalog: CatalogService;
  /** Users, roles, passwords and sign-in. */
  users: UserService;
  /** The visitor log. */
  visitors: VisitorLogService;
  /** Lending policies. */
  policies: PolicyService;
  /** Bookings of equipment for a date range, their pickup, and the availability calendar. */
  reservations: ReservationService;
  /** The holds queue: title-level requests when no copy is available. */
  holds: HoldService;
  /** Read-only reports: overdue by borrower, availability, loans per month, visits, top borrowed, copies out of service. */
  reports: ReportService;
  /** Due-soon, overdue, booking and hold notices: claimed once, one digest per borrower. */
  notices: NoticeService;
}

/**
 * The nine services for one request (or one job), built on one EntityManager with a shared
 * clock and event bus:
 *
 * - given the `MikroORM` instance, it forks `orm.em` once (a fresh identity map: nothing another
 *   request loaded is seen or changed);
 * - given an `EntityManager`, it uses it as is — e.g. the `em` of a host's own
 *   `orm.em.transactional(async (em) => …)`, so the commands join that transaction (each as a
 *   savepoint) and their events are published after the host's outermost commit.
 *
 * Per request: build it when a request starts and drop it when the request ends. Do not keep one
 * for the life of the process — the identity map of a long-lived EntityManager grows without
 * bound and is shared by every concurrent request. Building it costs seven small objects and one
 * fork.
 *
 * @param orm - the host's `MikroORM` (forked), or an `EntityManager` (used as is).
 * @param options - `clock` (default the system clock) and `events` (default none): the same
 *   {@link ServiceOptions} every service takes; pass one long-lived `SwlEventBus` so every
 *   request's events reach the same listeners. `legacyPasswordVerifiers` (`UserServiceOptions`,
 *   default none) goes to `users` only.
 * @returns `{ loans, catalog, users, visitors, policies, reservations, holds, reports, notices }` ({@link DeskServices}). Throws nothing.
 *
 * @example
 * ```ts
 * app.post('/loans/:id/approve', async (req, res) => {
 *   const { loans } = deskServices(orm, { events: bus });
 *   res.json(await withRetry(() => loans.approve(req.actor, { loanId: Number(req.params.id) })));
 * });
 * ```
 */
export function deskServices(orm: MikroORM | EntityManager, options: UserServiceOptions = {}): DeskServices {
  const em = orm instanceof EntityManager ? orm : orm.em.fork();
  const shared: ServiceOptions = { clock: options.clock, events: options.events };
  return {
    loans: new LoanService(em, shared),
    catalog: new CatalogService(em, shared),
    users: new UserService(em, { ...shared, legacyPasswordVerifiers: options.legacyPasswordVerifiers }),
    visitors: new VisitorLogService(em, shared),
    policies: new PolicyService(em, shared),
    reservations: new ReservationService(em, shared),
    holds: new HoldService(em, shared),
    reports: new ReportService(em, shared),
    notices: new NoticeService(em, shared),
  };
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** How many times the command runs at most, first try included: an integer ≥ 1 (default 3). */
  attempts?: number;
  /**
   * Milliseconds to wait before the first repeat (default 20); the wait doubles before each
   * further repeat (20, 40, 80 ms…). 0 repeats at once.
   */
  delayMs?: number;
  /**
   * Also repeat after `UNAVAILABLE` (default `false`). Set it only when the command's input
   * carries an `idempotencyKey`: a connection lost while the commit was on its way may have
   * committed the first try, and only the key makes the repeat return that first result instead
   * of doing the command twice.
   */
  idempotent?: boolean;
}

/**
 * Runs `command`, and runs it again when it fails with an {@link SwlError} `CONFLICT` (a
 * concurrent command won a lock, a deadlock or a serialization check; the transaction rolled back,
 * so nothing was written and the repeat sees the winner's result — e.g. the loan already
 * approved, `INVALID_TRANSITION`). Between tries it waits `delayMs`, doubling.
 *
 * `UNAVAILABLE` is repeated only with `idempotent: true`. It is retryable in the sense of
 * `SwlError.retryable`, but when the connection was lost after the commit was sent the first try
 * may have committed, and no client can tell: a blind repeat could approve, lend or charge twice.
 * With the same `idempotencyKey` in the input, the repeat returns the first try's stored result and
 * writes nothing — so `withRetry(cmd, { idempotent: true })` is safe exactly when `cmd` sends an
 * `idempotencyKey` (the same one on every try).
 *
 * Every other error — any other code (`FORBIDDEN`, `VALIDATION_FAILED`, …) or anything that is not
 * an `SwlError` — is rethrown at once. After the last attempt, the last error is rethrown.
 *
 * Each try must be a whole command: do not wrap a host transaction's inner command (its
 * `CONFLICT` has already doomed the host transaction); wrap the host transaction instead.
 *
 * @param command - runs the command; called once per attempt.
 * @param options - {@link RetryOptions}: `attempts` (default 3), `delayMs` (default 20, doubling),
 *   `idempotent` (default false).
 * @returns what `command` returned on the first attempt that succeeded.
 * @throws the error of the last attempt, or at once any error that is not repeated (see above).
 * @throws SwlError `VALIDATION_FAILED` when `attempts` is not an integer ≥ 1 or `delayMs` is not a
 *   finite number ≥ 0 (before `command` runs).
 */
export async function withRetry<T>(command: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 3, delayMs = 20, idempotent = false } = options;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new SwlError('VALIDATION_FAILED', 'attempts must be an integer ≥ 1', { attempts });
  }
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new SwlError('VALIDATION_FAILED', 'delayMs must be a finite number ≥ 0', { delayMs });
  }
  let wait = delayMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await command();
    } catch (error) {
      if (attempt >= attempts || !repeatable(error, idempotent)) throw error;
    }
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    wait *= 2;
  }
}

/** Whether {@link withRetry} repeats after `error`. */
function repeatable(error: unknown, idempotent: boolean): boolean {
  if (!(error instanceof SwlError) || !error.retryable) return false;
  return error.code === 'CONFLICT' || (idempotent && error.code === 'UNAVAILABLE');
}
