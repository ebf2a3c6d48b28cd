/**
 * The notices of the desk: who must be told what, and when — exactly once. Source: issue 17.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { NOTICE_STATUSES } from '../domain/vocabulary.ts';
import { NoticeRule } from '../entities/notice-rule.entity.ts';
import { SwlError } from '../errors.ts';
import { defineCommand, defineQuery, ServiceBase, type ServiceOptions } from '../internal/service-base.ts';
import { kyselyOf, toInt } from '../kernel/db.ts';
import type { Actor } from '../permissions.ts';
import type { Page } from '../validation.ts';
import { composeDigests, toNoticeView } from './digest.ts';
import { claimDueNotices, markDigestFailed, markDigestSent, type NoticeRow } from './schedule.ts';
import {
  ClaimNoticesInput,
  DueNoticesInput,
  ListNoticeRulesInput,
  ListNoticesInput,
  MarkFailedInput,
  MarkSentInput,
  RemoveNoticeRuleInput,
  UpsertNoticeRuleInput,
} from './schemas.ts';
import type { MarkFailedResult, MarkSentResult, NoticeDigest, NoticeRuleView, NoticeView } from './views.ts';

/** Options of {@link NoticeService}: the services' options plus the retry schedule. */
export interface NoticeServiceOptions extends ServiceOptions {
  /** Attempts (claims) before a notice is given up as `fallido` (≥ 1, default 5). */
  maxAttempts?: number;
  /** How long a claimed digest is the claimer's before it counts as a failed attempt, minutes (> 0, default 15). */
  leaseMinutes?: number;
  /**
   * Wait after the n-th failed attempt, minutes: `retryDelayMinutes[n − 1]`, the last one for every
   * attempt beyond (default `[15, 60, 240, 960]`: 15 min, 1 h, 4 h, 16 h).
   */
  retryDelayMinutes?: readonly number[];
}

/** The retry schedule a {@link NoticeService} uses unless told otherwise. */
export const DEFAULT_NOTICE_RETRY = Object.freeze({
  maxAttempts: 5,
  leaseMinutes: 15,
  retryDelayMinutes: Object.freeze([15, 60, 240, 960]),
});

const MINUTE_MS = 60_000;

const UPSERT_RULE = defineCommand({
  name: 'notice.upsertRule',
  capability: 'notice:manage',
  input: UpsertNoticeRuleInput,
});
const REMOVE_RULE = defineCommand({
  name: 'notice.removeRule',
  capability: 'notice:manage',
  input: RemoveNoticeRuleInput,
});
const LIST_RULES = defineQuery({ capability: 'policy:read', input: ListNoticeRulesInput });
const DUE = defineQuery({ capability: 'notice:send', input: DueNoticesInput });
const CLAIM = defineCommand({ name: 'notice.claim', capability: 'notice:send', input: ClaimNoticesInput });
const MARK_SENT = defineCommand({ name: 'notice.markSent', capability: 'notice:send', input: MarkSentInput });
const MARK_FAILED = defineCommand({
  name: 'notice.markFailed',
  capability: 'notice:send',
  input: MarkFailedInput,
});
const LIST = defineQuery({ capability: 'notice:send', input: ListNoticesInput });

/** Thrown inside `due`'s transaction to roll it back with its result. */
class DryRun {
  readonly digests: NoticeDigest[];
  constructor(digests: NoticeDigest[]) {
    this.digests = digests;
  }
}

function toRuleView(rule: NoticeRule): NoticeRuleView {
  return {
    id: rule.id,
    category: rule.category,
    role: rule.role,
    trigger: rule.trigger,
    offsetMinutes: rule.offsetMinutes,
    templateKey: rule.templateKey,
  };
}

/**
 * Decides who must be told what, exactly once, and leaves only the sending to the host.
 *
 * The **schedule** is data (`swl_notice_rule`, {@link DEFAULT_NOTICE_RULES} seeded): per category ×
 * role, a trigger (`loan_due`, `penalty_unsettled`, `reservation_start`, `hold_ready`,
 * `hold_expiring`), an offset from its anchor and a template key. A worker calls {@link claim}
 * (from cron or a job queue) and gets **one digest per borrower** — every notice due for that
 * borrower now, with the borrower's loans, due dates, accrued fines and blocks — sends each, and
 * reports {@link markSent} or {@link markFailed}.
 *
 * Guarantees (tests: `test/notices.test.ts`, on SQLite and PostgreSQL):
 * - **Once.** A notice is a row with a unique key (subject, trigger, offset, anchor); a claim hands
 *   a due notice to one worker only (concurrent claims from two connections never share one), and a
 *   notice marked sent is never handed out again.
 * - **No burst after an outage.** Only the latest due moment of each loan, booking or hold is made a
 *   notice; the earlier ones it missed are not (a loan 7 days overdue after a 3-day outage gets the
 *   7-day notice, once).
 * - **Relevance at claim time.** A pending notice whose loan was returned (booking cancelled, hold
 *   picked up, penalty paid, rule removed) is dropped (`descartado`), never sent.
 * - **Retries.** A failed send waits `retryDelayMinutes` and is claimed again; after `maxAttempts` it
 *   is `fallido` and listed by {@link listNotices}. A claim not reported within its lease counts as
 *   a failed attempt. Delivery is therefore at least once when a worker outlives its lease.
 *
 * Capabilities: `claim`, `due`, `markSent`, `markFailed`, `listNotices` need `notice:send` (staff,
 * admin); `upsertRule`, `removeRule` `notice:manage` (admin); `listRules` `policy:read`.
 * Instants UTC from the injected clock; money in minor units. Only {@link SwlError} is thrown.
 *
 * @example
 * ```ts
 * const notices = new NoticeService(em, { clock });
 * for (const digest of await notices.claim(staff, { limit: 100 })) {
 *   try {
 *     await mailer.send(digest.borrower.email, renderDigestText(digest));
 *     await notices.markSent(staff, { digestId: digest.digestId });
 *   } catch (error) {
 *     await notices.markFailed(staff, { digestId: digest.digestId, error: String(error) });
 *   }
 * }
 * ```
 */
export class NoticeService extends ServiceBase {
  readonly #maxAttempts: number;
  readonly #leaseMs: number;
  readonly #retryDelays: readonly number[];

  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or that of an open host transaction).
   * @param options - clock, event bus and the retry schedule ({@link NoticeServiceOptions}).
   * @throws SwlError `CONFIGURATION` when `maxAttempts` < 1, `leaseMinutes` ≤ 0 or a retry delay is not a positive number.
   */
  constructor(em: EntityManager, options: NoticeServiceOptions = {}) {
    super(em, options);
    this.#maxAttempts = options.maxAttempts ?? DEFAULT_NOTICE_RETRY.maxAttempts;
    const lease = options.leaseMinutes ?? DEFAULT_NOTICE_RETRY.leaseMinutes;
    this.#retryDelays = options.retryDelayMinutes ?? DEFAULT_NOTICE_RETRY.retryDelayMinutes;
    if (
      !Number.isInteger(this.#maxAttempts) ||
      this.#maxAttempts < 1 ||
      !(lease > 0) ||
      this.#retryDelays.length === 0 ||
      this.#retryDelays.some((d) => !(d > 0))
    ) {
      throw new SwlError('CONFIGURATION', 'invalid notice retry options', {
        maxAttempts: this.#maxAttempts,
        leaseMinutes: lease,
        retryDelayMinutes: [...this.#retryDelays],
      });
    }
    this.#leaseMs = lease * MINUTE_MS;
  }

  /**
   * Adds a rule to the schedule, or changes the template key of the rule with the same category,
   * role, trigger and offset.
   * @param actor - admin (`notice:manage`).
   * @returns the rule.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async upsertRule(actor: Actor, input: UpsertNoticeRuleInput): Promise<NoticeRuleView> {
    return this.command(UPSERT_RULE, actor, input, async ({ em, input: i }) => {
      const key = { category: i.category, role: i.role, trigger: i.trigger, offsetMinutes: i.offsetMinutes };
      const rule =
        (await em.findOne(NoticeRule, key)) ?? em.create(NoticeRule, { ...key, templateKey: i.templateKey });
      rule.templateKey = i.templateKey;
      await em.flush();
      return toRuleView(rule);
    });
  }

  /**
   * Removes a rule; its notices not yet sent are dropped at the next claim (`not_relevant`).
   * @param actor - admin (`notice:manage`).
   * @returns the removed rule.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`.
   */
  async removeRule(actor: Actor, input: RemoveNoticeRuleInput): Promise<NoticeRuleView> {
    return this.command(REMOVE_RULE, actor, input, async ({ em, input: i }) => {
      const rule = await em.findOne(NoticeRule, { id: i.ruleId });
      if (!rule) throw SwlError.notFound('noticeRule', i.ruleId);
      const view = toRuleView(rule);
      em.remove(rule);
      await em.flush();
      return view;
    });
  }

  /**
   * The notice schedule (of one `category` and/or `role` when given), by category, role, trigger and offset.
   * @param actor - anyone with `policy:read` (every role).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listRules(actor: Actor, input: ListNoticeRulesInput = {}): Promise<NoticeRuleView[]> {
    return this.query(LIST_RULES, actor, input, async (em, _a, i) => {
      const rules = await em.find(
        NoticeRule,
        { ...(i.category ? { category: i.category } : {}), ...(i.role ? { role: i.role } : {}) },
        { orderBy: { category: 'asc', role: 'asc', trigger: 'asc', offsetMinutes: 'asc' } },
      );
      return rules.map(toRuleView);
    });
  }

  /**
   * What a claim at `asOf` (default: now) would hand out — the same digests, computed in a
   * transaction that is rolled back: nothing is written (a dry run).
   * @param actor - staff/admin (`notice:send`).
   * @returns up to `limit` digests, one per borrower, earliest notice first.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async due(actor: Actor, input: DueNoticesInput = {}): Promise<NoticeDigest[]> {
    return this.query(DUE, actor, input, async (em, _a, i) => {
      const asOf = i.asOf ?? this.clock.now();
      try {
        await em.transactional(async (tx) => {
          throw new DryRun(await this.#claim(tx, asOf, i.limit));
        });
      } catch (error) {
        if (error instanceof DryRun) return error.digests;
        throw error;
      }
      throw new Error('unreachable: the dry run always rolls back');
    });
  }

  /**
   * Claims the notices due now for up to `limit` borrowers: makes each due notice once, drops those
   * no longer relevant, and hands each borrower's due notices out in one digest, leased for
   * `leaseMinutes`. Each claim is one attempt of each notice in it.
   * @param actor - staff/admin (`notice:send`).
   * @returns the digests, earliest notice first (empty: nothing due).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async claim(actor: Actor, input: ClaimNoticesInput = {}): Promise<NoticeDigest[]> {
    return this.command(CLAIM, actor, input, async ({ em, now, input: i }) => this.#claim(em, now, i.limit));
  }

  /**
   * Records that the host sent a digest: its claimed notices are `enviado`, never handed out again.
   * @param actor - staff/admin (`notice:send`).
   * @returns how many notices were marked (0 when the digest was already reported, or its lease ran
   *   out and it was claimed again — its notices then go out with the new claim).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async markSent(actor: Actor, input: MarkSentInput): Promise<MarkSentResult> {
    return this.command(MARK_SENT, actor, input, async ({ db, postgres, now, input: i }) => ({
      digestId: i.digestId,
      sent: await markDigestSent(db, postgres, i.digestId, now),
    }));
  }

  /**
   * Records that the host could not send a digest: each of its notices waits for its next attempt
   * (the retry delay of its attempt count) or, at `maxAttempts`, is given up as `fallido` — listed
   * by {@link listNotices} with `lastError`.
   * @param actor - staff/admin (`notice:send`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async markFailed(actor: Actor, input: MarkFailedInput): Promise<MarkFailedResult> {
    return this.command(MARK_FAILED, actor, input, async ({ db, postgres, now, input: i }) => {
      const delays = this.#retryDelays;
      const retryAt = (attempts: number) =>
        new Date(now.getTime() + (delays[Math.min(attempts, delays.length) - 1] ?? 0) * MINUTE_MS);
      const result = await markDigestFailed(
        db,
        postgres,
        i.digestId,
        i.error,
        now,
        retryAt,
        this.#maxAttempts,
      );
      return { digestId: i.digestId, ...result };
    });
  }

  /**
   * Notices by status (default: every status) and borrower, latest moment first — e.g.
   * `{ statuses: ['fallido'] }` for those given up.
   * @param actor - staff/admin (`notice:send`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listNotices(actor: Actor, input: ListNoticesInput = {}): Promise<Page<NoticeView>> {
    return this.query(LIST, actor, input, async (em, _a, i) => {
      const db = kyselyOf(em);
      let query = db.selectFrom('swl_notice');
      query = query.where('status', 'in', i.statuses ?? [...NOTICE_STATUSES]);
      if (i.borrowerId !== undefined) query = query.where('borrower_id', '=', i.borrowerId);
      const total = await query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      const rows = await query
        .selectAll()
        .orderBy('fire_at', 'desc')
        .orderBy('id', 'desc')
        .limit(i.limit)
        .offset(i.offset)
        .execute();
      return {
        items: rows.map((r) => toNoticeView(r as unknown as NoticeRow)),
        total: toInt(total.n as number | string),
        limit: i.limit,
        offset: i.offset,
      };
    });
  }

  async #claim(em: EntityManager, now: Date, limit: number): Promise<NoticeDigest[]> {
    const db = kyselyOf(em);
    const rows = await claimDueNotices(db, this.postgres, {
      now,
      limit,
      token: randomUUID(),
      leaseUntil: new Date(now.getTime() + this.#leaseMs),
      maxAttempts: this.#maxAttempts,
    });
    return composeDigests(em, rows, now);
  }
}
