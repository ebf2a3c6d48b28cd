/**
 * The catalog and inventory: {@link CatalogService}, its input schemas and views, copy codes, and
 * the item-instance state machine. Source: DESIGN §2, §4.
 *
 * @module
 */
export { CatalogService } from './catalog.service.ts';
export * from './codes.ts';
export * from './instance-transitions.ts';
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
