/**
 * The visitor entry log: {@link VisitorLogService}, its input schemas and views. Source:
 * `seeds/000` LibraryLog Table; DESIGN §2.
 *
 * @module
 */
export * from './schemas.ts';
export type { VisitCount, VisitPurgeResult, VisitStatistics, VisitView } from './views.ts';
export { VisitorLogService } from './visitor-log.service.ts';
