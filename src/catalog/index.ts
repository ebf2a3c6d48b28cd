/**
 * The catalog and inventory: {@link CatalogService}, its input schemas and views, copy codes, and
 * the copy state machine. Source: docs/DESIGN.md §2, §4.
 *
 * @module
 */
export { CatalogService } from './catalog.service.ts';
export * from './codes.ts';
export * from './copy-transitions.ts';
export * from './schemas.ts';
export type {
  AvailabilityCounts,
  CopyDetailView,
  CopyEventView,
  CopyView,
  EntrySummaryView,
  EntryView,
  EntryWithCopiesView,
} from './views.ts';
