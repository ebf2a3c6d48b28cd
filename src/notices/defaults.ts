/**
 * The notice schedule a new installation starts with. Source: issue 17 (1 day before due, at due,
 * 1 / 3 / 7 days overdue; reservation pickup; hold ready and expiring; a block placed by an unsettled
 * penalty); Koha's default overdue notice delays (`overduerules`: 1st, 2nd, 3rd notice).
 *
 * @module
 */
import type { Category, Role } from '../domain/vocabulary.ts';
import type { UpsertNoticeRuleInput } from './schemas.ts';

const DAY = 1_440;
const HOUR = 60;

type Rule = Omit<UpsertNoticeRuleInput, 'category' | 'role'>;

/** Books and general equipment: lent for days. */
const GENERAL: readonly Rule[] = [
  { trigger: 'loan_due', offsetMinutes: -DAY, templateKey: 'loan.due-soon' },
  { trigger: 'loan_due', offsetMinutes: 0, templateKey: 'loan.due' },
  { trigger: 'loan_due', offsetMinutes: DAY, templateKey: 'loan.overdue.1d' },
  { trigger: 'loan_due', offsetMinutes: 3 * DAY, templateKey: 'loan.overdue.3d' },
  { trigger: 'loan_due', offsetMinutes: 7 * DAY, templateKey: 'loan.overdue.7d' },
];

/** Premium equipment: lent for hours. */
const PREMIUM: readonly Rule[] = [
  { trigger: 'loan_due', offsetMinutes: -HOUR, templateKey: 'loan.due-soon' },
  { trigger: 'loan_due', offsetMinutes: 0, templateKey: 'loan.due' },
  { trigger: 'loan_due', offsetMinutes: HOUR, templateKey: 'loan.overdue.1h' },
  { trigger: 'loan_due', offsetMinutes: DAY, templateKey: 'loan.overdue.1d' },
];

/** Every category. */
const ANY: readonly Rule[] = [
  { trigger: 'penalty_unsettled', offsetMinutes: 0, templateKey: 'account.blocked.penalty' },
  { trigger: 'reservation_start', offsetMinutes: -DAY, templateKey: 'reservation.tomorrow' },
  { trigger: 'reservation_start', offsetMinutes: 0, templateKey: 'reservation.pickup-ready' },
  { trigger: 'hold_ready', offsetMinutes: 0, templateKey: 'hold.ready' },
  { trigger: 'hold_expiring', offsetMinutes: -12 * HOUR, templateKey: 'hold.expiring' },
];

const rows = (category: Category, roles: readonly Role[], rules: readonly Rule[]) =>
  roles.flatMap((role) => rules.map((rule) => ({ category, role, ...rule })));

/**
 * The seeded notice schedule (offsets in minutes from each trigger's anchor, UTC):
 *
 * | category | roles | loan due | other |
 * |---|---|---|---|
 * | general | every role | −1 day (`loan.due-soon`), 0 (`loan.due`), +1 / +3 / +7 days (`loan.overdue.1d` / `.3d` / `.7d`) | penalty 0 (`account.blocked.penalty`); booking start −1 day (`reservation.tomorrow`), 0 (`reservation.pickup-ready`); hold ready 0 (`hold.ready`); hold deadline −12 h (`hold.expiring`) |
 * | premium | teacher, staff, admin | −1 h, 0, +1 h (`loan.overdue.1h`), +1 day | the same |
 *
 * No premium × student rows, as students may not borrow premium items. Hosts change the schedule
 * with `NoticeService.upsertRule` / `removeRule`.
 */
export const DEFAULT_NOTICE_RULES: readonly UpsertNoticeRuleInput[] = Object.freeze([
  ...rows('general', ['admin', 'staff', 'teacher', 'student'], [...GENERAL, ...ANY]),
  ...rows('premium', ['admin', 'staff', 'teacher'], [...PREMIUM, ...ANY]),
]);
