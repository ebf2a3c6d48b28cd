import { CatalogEntry } from './catalog-entry.entity.ts';
import { CopyEvent } from './copy-event.entity.ts';
import { Hold } from './hold.entity.ts';
import { HoldEvent } from './hold-event.entity.ts';
import { IdempotencyKey } from './idempotency-key.entity.ts';
import { ItemInstance } from './item-instance.entity.ts';
import { LibraryLog } from './library-log.entity.ts';
import { Loan } from './loan.entity.ts';
import { LoanEvent } from './loan-event.entity.ts';
import { LoanPolicy } from './loan-policy.entity.ts';
import { Notice } from './notice.entity.ts';
import { NoticeRule } from './notice-rule.entity.ts';
import { Reservation } from './reservation.entity.ts';
import { ReservationEvent } from './reservation-event.entity.ts';
import { ReservationPolicy } from './reservation-policy.entity.ts';
import { User } from './user.entity.ts';

export * from './catalog-entry.entity.ts';
export { TABLE_PREFIX } from './common.ts';
export * from './copy-event.entity.ts';
export * from './hold.entity.ts';
export * from './hold-event.entity.ts';
export * from './idempotency-key.entity.ts';
export * from './item-instance.entity.ts';
export * from './library-log.entity.ts';
export * from './loan.entity.ts';
export * from './loan-event.entity.ts';
export * from './loan-policy.entity.ts';
export * from './notice.entity.ts';
export * from './notice-rule.entity.ts';
export * from './reservation.entity.ts';
export * from './reservation-event.entity.ts';
export * from './reservation-policy.entity.ts';
export * from './user.entity.ts';

/**
 * Every entity of the package, for a host's `entities` option:
 * `MikroORM.init({ entities: [...swlEntities, ...hostEntities], … })`. Source: docs/DESIGN.md §1, §2.
 */
export const swlEntities = [
  User,
  CatalogEntry,
  ItemInstance,
  Loan,
  LoanEvent,
  CopyEvent,
  LoanPolicy,
  LibraryLog,
  IdempotencyKey,
  ReservationPolicy,
  Reservation,
  ReservationEvent,
  Hold,
  HoldEvent,
  NoticeRule,
  Notice,
] as const;
