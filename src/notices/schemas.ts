/**
 * Input schemas of the {@link NoticeService} commands and reads (strict: unknown keys are refused).
 * Source: issue 17.
 *
 * @module
 */
import { z } from 'zod';
import { CATEGORIES, NOTICE_STATUSES, NOTICE_TRIGGERS, ROLES } from '../domain/vocabulary.ts';
import { IdSchema, InstantSchema, PageSchema, requiredText } from '../validation.ts';

/** Minutes in a year: the largest offset of a notice rule. */
export const MAX_NOTICE_OFFSET_MINUTES = 525_600;

/**
 * `upsertRule`: one moment of the notice schedule — for `category` × `role`, a notice
 * `offsetMinutes` from the `trigger`'s anchor (negative: before it; −525 600 … 525 600), rendered by
 * the host with `templateKey` (1–100 chars). Adds the rule, or changes the template key of the rule
 * with the same category, role, trigger and offset.
 */
export const UpsertNoticeRuleInput = z.strictObject({
  category: z.enum(CATEGORIES),
  role: z.enum(ROLES),
  trigger: z.enum(NOTICE_TRIGGERS),
  offsetMinutes: z.number().int().min(-MAX_NOTICE_OFFSET_MINUTES).max(MAX_NOTICE_OFFSET_MINUTES),
  templateKey: requiredText(100),
});
/** Input of `NoticeService.upsertRule`. */
export type UpsertNoticeRuleInput = z.input<typeof UpsertNoticeRuleInput>;

/** `removeRule`: delete one rule by id (its pending notices are dropped at the next claim). */
export const RemoveNoticeRuleInput = z.strictObject({ ruleId: IdSchema });
/** Input of `NoticeService.removeRule`. */
export type RemoveNoticeRuleInput = z.input<typeof RemoveNoticeRuleInput>;

/** `listRules`: the schedule, optionally of one category and/or one role. */
export const ListNoticeRulesInput = z.strictObject({
  category: z.enum(CATEGORIES).optional(),
  role: z.enum(ROLES).optional(),
});
/** Input of `NoticeService.listRules`. */
export type ListNoticeRulesInput = z.input<typeof ListNoticeRulesInput>;

/** How many digests (borrowers) one claim hands out: 1..1000, default 100. */
const DigestLimit = z.number().int().min(1).max(1000).default(100);

/**
 * `due`: the digests a claim would hand out at `asOf` (default: the clock's now), computed and
 * rolled back — nothing is written. `limit` digests (1..1000, default 100).
 */
export const DueNoticesInput = z.strictObject({ asOf: InstantSchema.optional(), limit: DigestLimit });
/** Input of `NoticeService.due`. */
export type DueNoticesInput = z.input<typeof DueNoticesInput>;

/** `claim`: take the notices due now for up to `limit` borrowers (1..1000, default 100), one digest each. */
export const ClaimNoticesInput = z.strictObject({ limit: DigestLimit });
/** Input of `NoticeService.claim`. */
export type ClaimNoticesInput = z.input<typeof ClaimNoticesInput>;

/** A digest's id as `claim` returned it (`NoticeDigest.digestId`, 1–80 chars). */
const DigestId = requiredText(80);

/** `markSent`: the host sent the digest. */
export const MarkSentInput = z.strictObject({ digestId: DigestId });
/** Input of `NoticeService.markSent`. */
export type MarkSentInput = z.input<typeof MarkSentInput>;

/** `markFailed`: the host could not send the digest; `error` (1–2000 chars) is kept on each notice. */
export const MarkFailedInput = z.strictObject({ digestId: DigestId, error: requiredText(2000) });
/** Input of `NoticeService.markFailed`. */
export type MarkFailedInput = z.input<typeof MarkFailedInput>;

/** `listNotices`: notices by status (default every status) and borrower, newest moment first; paginated. */
export const ListNoticesInput = PageSchema.extend({
  statuses: z.array(z.enum(NOTICE_STATUSES)).min(1).max(5).optional(),
  borrowerId: IdSchema.optional(),
});
/** Input of `NoticeService.listNotices`. */
export type ListNoticesInput = z.input<typeof ListNoticesInput>;
