/**
 * Plain objects the {@link VisitorLogService} returns (never entities). Instants as UTC `Date`s.
 *
 * @module
 */
import type { VisitorRole } from '../domain/vocabulary.ts';
import type { LibraryLog } from '../entities/library-log.entity.ts';
import type { VisitGrouping } from './schemas.ts';

/** One visit (a `swl_library_log` row). */
export interface VisitView {
  id: number;
  visitorName: string;
  /** The visitor's document number. */
  visitorId: string;
  role: VisitorRole;
  activity: string;
  /** Entry instant, UTC. */
  entryTime: Date;
  /** The registered user, when the visitor is one. */
  userId: number | null;
  /** The staff member who recorded the visit. */
  recordedById: number | null;
}

/** One group of {@link VisitStatistics}. */
export interface VisitCount {
  /** `YYYY-MM-DD` (UTC day), the role, or the activity. */
  key: string;
  visits: number;
}

/** Visit counts over a period, computed by the database (`GROUP BY`). */
export interface VisitStatistics {
  /** Start of the period (inclusive), UTC. */
  from: Date;
  /** End of the period (exclusive), UTC. */
  to: Date;
  groupBy: VisitGrouping;
  /** One row per group that has visits, ordered by `key`; groups without visits are absent. */
  rows: VisitCount[];
  /** All visits in the period (counted separately; equals the sum of `rows`). */
  total: number;
}

/** What `purge` removed. */
export interface VisitPurgeResult {
  /** Visits deleted. */
  deleted: number;
  /** The cut-off: visits with `entryTime` strictly before it were deleted; those at it were kept. */
  cutoff: Date;
}

/** @internal */
export function toVisitView(log: LibraryLog): VisitView {
  return {
    id: log.id,
    visitorName: log.visitorName,
    visitorId: log.visitorId,
    role: log.role,
    activity: log.activity,
    entryTime: log.entryTime,
    userId: log.user?.id ?? null,
    recordedById: log.recordedBy?.id ?? null,
  };
}
