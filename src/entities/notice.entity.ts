import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { NOTICE_STATUSES, NOTICE_SUBJECTS, NOTICE_TRIGGERS, NoticeStatus } from '../domain/vocabulary.ts';
import { timestamps } from './common.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link Notice} (table `swl_notice`).
 *
 * One notice to one borrower: a trigger of the schedule (`swl_notice_rule`) whose moment came for
 * one loan, booking or hold. Written when a worker claims notices (`NoticeService.claim`), never
 * ahead. Database guarantees: one notice per (subject, trigger, offset, anchor) —
 * `swl_notice_once` — so a notice is never made twice, whoever claims and however often; a
 * renewal moves the due date (the anchor), so the new due date gets its own reminders.
 * `subjectId` points into `swl_loan`, `swl_reservation` or `swl_hold` by `subjectType` (rows
 * that are never deleted). Instants UTC. Source: issue 17.
 */
export const NoticeSchema = defineEntity({
  name: 'Notice',
  tableName: 'swl_notice',
  properties: {
    id: p.integer().primary().autoincrement(),
    borrower: () => p.manyToOne(User).ref().deleteRule('restrict').updateRule('cascade'),
    subjectType: p.enum(NOTICE_SUBJECTS),
    subjectId: p.integer(),
    trigger: p.enum(NOTICE_TRIGGERS),
    /** The rule's offset from the anchor, minutes. */
    offsetMinutes: p.integer(),
    /** The instant the offset counts from (due date, return date, booking start, …). */
    anchorAt: p.datetime(),
    /** `anchorAt + offsetMinutes`: the notice's moment. */
    fireAt: p.datetime(),
    templateKey: p.string().length(100),
    status: p.enum(NOTICE_STATUSES).default(NoticeStatus.Pending),
    /** Claims so far (each claim is one attempt). */
    attempts: p.integer().default(0).check('attempts >= 0'),
    /** A pending notice is claimable from then (its moment, then each retry's backoff). */
    nextAttemptAt: p.datetime(),
    /** The digest it was last claimed in (`NoticeDigest.digestId`). */
    claimToken: p.string().length(80).nullable(),
    /** A claim (`enviando`) not reported by then counts as a failed attempt. */
    leaseUntil: p.datetime().nullable(),
    lastError: p.text().nullable(),
    sentAt: p.datetime().nullable(),
    /** When it went to `fallido` or `descartado`. */
    closedAt: p.datetime().nullable(),
    /** Why it was dropped: `not_relevant` or `superseded`. */
    dropReason: p.string().length(20).nullable(),
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [
    {
      name: 'swl_notice_once',
      properties: ['subjectType', 'subjectId', 'trigger', 'offsetMinutes', 'anchorAt'],
    },
  ],
  indexes: [
    { name: 'swl_notice_status_next_index', properties: ['status', 'nextAttemptAt'] },
    { name: 'swl_notice_borrower_status_index', properties: ['borrower', 'status'] },
    { name: 'swl_notice_claim_token_index', properties: ['claimToken'] },
    { name: 'swl_notice_subject_index', properties: ['subjectType', 'subjectId'] },
  ],
});

/** A notice to a borrower, made once and sent at most once per claim. */
export class Notice extends NoticeSchema.class {}
NoticeSchema.setClass(Notice);
/** Plain shape of a {@link Notice} row. */
export type INotice = InferEntity<typeof NoticeSchema>;
