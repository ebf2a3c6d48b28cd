import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CATEGORIES, NOTICE_TRIGGERS, ROLES } from '../domain/vocabulary.ts';
import { timestamps } from './common.ts';

/**
 * Schema of {@link NoticeRule} (table `swl_notice_rule`).
 *
 * The notice schedule as data, per (category × role) as the lending and booking policies are: one
 * row per moment a borrower of `role` is told about a loan, booking or hold of `category` — the
 * `trigger`, an offset in minutes from the trigger's anchor (negative = before it) and the
 * template key the host renders. No row: no notice. Source: issue 17; Koha's `overduerules`
 * (per branch × patron category: delay, letter code) and its advance notice preferences.
 */
export const NoticeRuleSchema = defineEntity({
  name: 'NoticeRule',
  tableName: 'swl_notice_rule',
  properties: {
    id: p.integer().primary().autoincrement(),
    category: p.enum(CATEGORIES),
    role: p.enum(ROLES),
    trigger: p.enum(NOTICE_TRIGGERS),
    /** Minutes from the trigger's anchor (negative: before it), −525 600 … 525 600 (one year). */
    offsetMinutes: p.integer().check('abs(offset_minutes) <= 525600'),
    /** The host's template for the notice, e.g. `loan.overdue.3d`. 1–100 chars. */
    templateKey: p.string().length(100),
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [
    {
      name: 'swl_notice_rule_unique',
      properties: ['category', 'role', 'trigger', 'offsetMinutes'],
    },
  ],
});

/** One moment of the notice schedule for one category and one role. */
export class NoticeRule extends NoticeRuleSchema.class {}
NoticeRuleSchema.setClass(NoticeRule);
/** Plain shape of a {@link NoticeRule} row. */
export type INoticeRule = InferEntity<typeof NoticeRuleSchema>;
