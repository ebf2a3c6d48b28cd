/**
 * Reports as typed reads (issue 17): {@link ReportService}, its input schemas and views.
 *
 * @module
 */

export { ReportService } from './report.service.ts';
export * from './schemas.ts';
export type {
  AvailabilityReport,
  BorrowedEntry,
  EntryAvailability,
  LoansPerMonthReport,
  MonthlyLoanCount,
  OutOfServiceCopy,
  OverdueBorrower,
  OverdueLoanLine,
  OverdueReport,
  TopBorrowedReport,
} from './views.ts';
