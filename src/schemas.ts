/**
 * JSON Schemas of every service input, for a host's transport layer: request-body validation in
 * a framework that speaks JSON Schema (Fastify, Ajv), OpenAPI documents, generated clients.
 * Generated from the zod schemas themselves, so they cannot drift apart. Source: issue 13; zod 4
 * `z.toJSONSchema` (https://zod.dev/json-schema).
 *
 * @module
 */
import { z } from 'zod';
import {
  AddCopiesInput,
  ChangeCopyStatusInput,
  CopyHistoryInput,
  CreateCatalogEntryInput,
  GetCatalogEntryInput,
  GetCopyByCodeInput,
  ListCopiesInput,
  SearchCatalogInput,
  UpdateCatalogEntryInput,
  WithdrawEntryInput,
} from './catalog/schemas.ts';
import {
  CancelHoldInput,
  ExpireHoldsInput,
  FulfillHoldInput,
  GetHoldInput,
  HoldQueueInput,
  ListHoldsInput,
  PlaceHoldInput,
} from './holds/schemas.ts';
import {
  ApproveLoanInput,
  BorrowerStandingInput,
  CancelLoanInput,
  GetLoanInput,
  ListBorrowerLoansInput,
  OverdueLoansInput,
  PendingQueueInput,
  RejectLoanInput,
  RenewLoanInput,
  RequestLoanInput,
  ReturnLoanInput,
  SettlePenaltyInput,
} from './loans/schemas.ts';
import {
  ClaimNoticesInput,
  DueNoticesInput,
  ListNoticeRulesInput,
  ListNoticesInput,
  MarkFailedInput,
  MarkSentInput,
  RemoveNoticeRuleInput,
  UpsertNoticeRuleInput,
} from './notices/schemas.ts';
import { SwlOutboxReadInput } from './outbox.ts';
import {
  ListLoanPoliciesInput,
  LoanPolicyKeyInput,
  UpdateLoanPolicyInput,
  UpsertLoanPolicyInput,
} from './policies/schemas.ts';
import {
  AvailabilityReportInput,
  CopiesOutOfServiceInput,
  LoansPerMonthInput,
  OverdueByBorrowerInput,
  TopBorrowedInput,
} from './reports/schemas.ts';
import {
  AvailabilityInput,
  CancelReservationInput,
  ConfirmReservationInput,
  GetReservationInput,
  ListReservationPoliciesInput,
  ListReservationsInput,
  PickUpReservationInput,
  RecordNoShowsInput,
  ReserveInput,
  UpsertReservationPolicyInput,
} from './reservations/schemas.ts';
import {
  AuthenticateInput,
  ChangePasswordInput,
  ChangeRoleInput,
  CreateUserInput,
  ListUsersInput,
  UpdateUserInput,
  UserIdInput,
} from './users/schemas.ts';
import {
  ListVisitsInput,
  PurgeVisitsInput,
  RecordVisitInput,
  VisitStatisticsInput,
} from './visitors/schemas.ts';

/**
 * The name of one service input schema (a key of {@link INPUT_SCHEMAS} and {@link INPUT_JSON_SCHEMAS}):
 * the name the zod schema is exported under, e.g. `'ApproveLoanInput'`.
 */
export type InputSchemaName =
  | 'CreateCatalogEntryInput'
  | 'AddCopiesInput'
  | 'UpdateCatalogEntryInput'
  | 'SearchCatalogInput'
  | 'GetCatalogEntryInput'
  | 'ListCopiesInput'
  | 'GetCopyByCodeInput'
  | 'ChangeCopyStatusInput'
  | 'WithdrawEntryInput'
  | 'CopyHistoryInput'
  | 'RequestLoanInput'
  | 'ApproveLoanInput'
  | 'RejectLoanInput'
  | 'CancelLoanInput'
  | 'RenewLoanInput'
  | 'ReturnLoanInput'
  | 'SettlePenaltyInput'
  | 'GetLoanInput'
  | 'ListBorrowerLoansInput'
  | 'PendingQueueInput'
  | 'OverdueLoansInput'
  | 'BorrowerStandingInput'
  | 'CreateUserInput'
  | 'UpdateUserInput'
  | 'ChangeRoleInput'
  | 'UserIdInput'
  | 'AuthenticateInput'
  | 'ChangePasswordInput'
  | 'ListUsersInput'
  | 'UpsertLoanPolicyInput'
  | 'UpdateLoanPolicyInput'
  | 'LoanPolicyKeyInput'
  | 'ListLoanPoliciesInput'
  | 'RecordVisitInput'
  | 'ListVisitsInput'
  | 'VisitStatisticsInput'
  | 'PurgeVisitsInput'
  | 'ReserveInput'
  | 'ConfirmReservationInput'
  | 'CancelReservationInput'
  | 'PickUpReservationInput'
  | 'RecordNoShowsInput'
  | 'AvailabilityInput'
  | 'GetReservationInput'
  | 'ListReservationsInput'
  | 'UpsertReservationPolicyInput'
  | 'ListReservationPoliciesInput'
  | 'PlaceHoldInput'
  | 'CancelHoldInput'
  | 'FulfillHoldInput'
  | 'ExpireHoldsInput'
  | 'HoldQueueInput'
  | 'GetHoldInput'
  | 'ListHoldsInput'
  | 'OverdueByBorrowerInput'
  | 'AvailabilityReportInput'
  | 'LoansPerMonthInput'
  | 'TopBorrowedInput'
  | 'CopiesOutOfServiceInput'
  | 'UpsertNoticeRuleInput'
  | 'RemoveNoticeRuleInput'
  | 'ListNoticeRulesInput'
  | 'DueNoticesInput'
  | 'ClaimNoticesInput'
  | 'MarkSentInput'
  | 'MarkFailedInput'
  | 'ListNoticesInput'
  | 'SwlOutboxReadInput';

/**
 * The zod input schema of every service command and query (and of `SwlOutbox.read`), by its
 * exported name. `IdempotencyKeyInput` is not here: it is a field of the command schemas, not an
 * input of its own.
 */
export const INPUT_SCHEMAS: Readonly<Record<InputSchemaName, z.ZodType>> = {
  // catalog (CatalogService)
  CreateCatalogEntryInput,
  AddCopiesInput,
  UpdateCatalogEntryInput,
  SearchCatalogInput,
  GetCatalogEntryInput,
  ListCopiesInput,
  GetCopyByCodeInput,
  ChangeCopyStatusInput,
  WithdrawEntryInput,
  CopyHistoryInput,
  // loans (LoanService)
  RequestLoanInput,
  ApproveLoanInput,
  RejectLoanInput,
  CancelLoanInput,
  RenewLoanInput,
  ReturnLoanInput,
  SettlePenaltyInput,
  GetLoanInput,
  ListBorrowerLoansInput,
  PendingQueueInput,
  OverdueLoansInput,
  BorrowerStandingInput,
  // users (UserService)
  CreateUserInput,
  UpdateUserInput,
  ChangeRoleInput,
  UserIdInput,
  AuthenticateInput,
  ChangePasswordInput,
  ListUsersInput,
  // policies (PolicyService)
  UpsertLoanPolicyInput,
  UpdateLoanPolicyInput,
  LoanPolicyKeyInput,
  ListLoanPoliciesInput,
  // visitors (VisitorLogService)
  RecordVisitInput,
  ListVisitsInput,
  VisitStatisticsInput,
  PurgeVisitsInput,
  // reservations (ReservationService)
  ReserveInput,
  ConfirmReservationInput,
  CancelReservationInput,
  PickUpReservationInput,
  RecordNoShowsInput,
  AvailabilityInput,
  GetReservationInput,
  ListReservationsInput,
  UpsertReservationPolicyInput,
  ListReservationPoliciesInput,
  // holds (HoldService)
  PlaceHoldInput,
  CancelHoldInput,
  FulfillHoldInput,
  ExpireHoldsInput,
  HoldQueueInput,
  GetHoldInput,
  ListHoldsInput,
  // reports (ReportService; its visit report takes VisitStatisticsInput)
  OverdueByBorrowerInput,
  AvailabilityReportInput,
  LoansPerMonthInput,
  TopBorrowedInput,
  CopiesOutOfServiceInput,
  // outbox (SwlOutbox)
  // notices (NoticeService)
  UpsertNoticeRuleInput,
  RemoveNoticeRuleInput,
  ListNoticeRulesInput,
  DueNoticesInput,
  ClaimNoticesInput,
  MarkSentInput,
  MarkFailedInput,
  ListNoticesInput,
  SwlOutboxReadInput,
} satisfies Record<InputSchemaName, z.ZodType>;

/** A JSON Schema document (draft 2020-12) as zod 4 generates it. */
export type InputJsonSchema = z.core.JSONSchema.JSONSchema;

/** Deep-freezes a generated schema, so one host module cannot change what another reads. */
function frozen<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The JSON Schema (draft 2020-12) of every service input, keyed by the zod schema's name
 * ({@link InputSchemaName}) — e.g. `INPUT_JSON_SCHEMAS.ApproveLoanInput` is
 * `{ type: 'object', properties: { loanId: { type: 'integer', minimum: 1, maximum: 2147483647 }, … },
 * required: ['loanId'], additionalProperties: false }`.
 *
 * Made with `z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })`: it describes what a
 * client sends (fields with a default are optional), and the parts JSON cannot express become `{}`
 * (accept anything) — a `Date` alternative of an instant field (JSON carries the ISO string
 * branch), and refinements (no NUL characters, well-formed Unicode, "exactly one of
 * `copyId`/`catalogEntryId`", instants between 1970 and 9999, trimming). So these schemas are
 * looser than the zod ones: use them for documentation and a first check, and still pass the input
 * to the service (or `parseInput`, src/validation.ts), which decides with `VALIDATION_FAILED`. Every value is
 * deep-frozen. Throws nothing.
 */
export const INPUT_JSON_SCHEMAS: Readonly<Record<InputSchemaName, InputJsonSchema>> = frozen(jsonSchemas());

function jsonSchemas(): Record<InputSchemaName, InputJsonSchema> {
  const out: Partial<Record<InputSchemaName, InputJsonSchema>> = {};
  for (const name of Object.keys(INPUT_SCHEMAS) as InputSchemaName[]) {
    const json: InputJsonSchema = z.toJSONSchema(INPUT_SCHEMAS[name], {
      io: 'input',
      unrepresentable: 'any',
    });
    out[name] = json;
  }
  return out as Record<InputSchemaName, InputJsonSchema>;
}
