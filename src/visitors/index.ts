/**
 * The visitor entry log: {@link VisitorLogService}, its input schemas and views. Source:
 * `docs/legacy/000_266b31aaf8610e4d.txt` LibraryLog Table; docs/DESIGN.md §2.
 *
 * @module
 */
export * from './schemas.ts';
export type { VisitCount, VisitPurgeResult, VisitStatistics, VisitView } from './views.ts';
export { VisitorLogService } from './visitor-log.service.ts';
