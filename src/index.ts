/**
 * swl-library — the domain core of the SWL Library Management System: entities, the loan state
 * machine, lending policies and fines, the visitor log, on MikroORM 7 for SQLite and PostgreSQL.
 *
 * Migrations are in the `swl-library/migrations` subpath; RFC 9457 problem details and
 * Fastify/Express error handlers in `swl-library/http`.
 *
 * @packageDocumentation
 */
export * from './catalog/index.ts';
export { type Clock, ManualClock, systemClock } from './clock.ts';
export {
  DEFAULT_MIGRATIONS_FOLDER,
  DEFAULT_SQLITE_FILE,
  openSwlOrm,
  resolveDatabase,
  type SwlDatabase,
  type SwlDialectName,
  type SwlMigrationsOptions,
  type SwlOrmConfigOptions,
  type SwlSeederOptions,
  swlOrmConfig,
} from './config.ts';
export { type DeskServices, deskServices, type RetryOptions, withRetry } from './desk.ts';
export * from './domain/vocabulary.ts';
export * from './entities/index.ts';
export { isSwlError, SWL_ERROR_CODES, SWL_HTTP_STATUS, SwlError, type SwlErrorCode } from './errors.ts';
export {
  type CopyChangeEvent,
  type HoldTransitionEvent,
  type LoanTransitionEvent,
  type ReservationTransitionEvent,
  type SwlDomainEvent,
  SwlEventBus,
  type SwlEventListener,
} from './events.ts';
export {
  FLASK_IMPORT_MARKER,
  FLASK_TABLES,
  type FlaskImportOptions,
  type FlaskImportReport,
  type FlaskInconsistency,
  type FlaskInconsistencyKind,
  type FlaskInexactPenalty,
  type FlaskMergedTable,
  type FlaskMergeReport,
  type FlaskPenaltyTreatment,
  type FlaskVocabularyIssue,
  importSwlFlaskDatabase,
  penaltyToMinorUnits,
} from './flask-import/index.ts';
export * from './holds/index.ts';
export { IdempotencyKeyInput } from './internal/idempotency.ts';
export type { ServiceOptions } from './internal/service-base.ts';
export {
  type MachineDefinition,
  StateMachine,
  type TransitionRow,
  TransitionTableError,
} from './kernel/state-machine.ts';
export * from './loans/index.ts';
export * from './notices/index.ts';
export {
  type CheckInvariantsOptions,
  checkInvariants,
  INVARIANT_RULES,
  type InvariantReport,
  type InvariantRule,
  type InvariantViolation,
} from './operations/invariants.ts';
export { SwlOutbox, type SwlOutboxPage, type SwlOutboxPosition, SwlOutboxReadInput } from './outbox.ts';
export {
  type Actor,
  ActorSchema,
  assertCan,
  CAPABILITIES,
  type Capability,
  can,
  ROLE_CAPABILITIES,
} from './permissions.ts';
export * from './policies/index.ts';
export {
  type PgClientLike,
  type PgPoolLike,
  PREPARED_STATEMENTS_PER_CONNECTION,
  preparePostgresStatements,
} from './postgres.ts';
export * from './reports/index.ts';
export * from './reservations/index.ts';
export { INPUT_JSON_SCHEMAS, INPUT_SCHEMAS, type InputJsonSchema, type InputSchemaName } from './schemas.ts';
export { DEFAULT_ADMIN, DEFAULT_INVENTORY, type InventorySeed } from './seeding/defaults.ts';
export { type InitializeReport, initializeDatabase } from './seeding/initialize.ts';
export { type SeedOptions, type SeedReport, seedDefaults } from './seeding/seed.ts';
export {
  SWL_SQLITE_DRIVERS,
  SwlSqliteDialect,
  type SwlSqliteDriverName,
  type SwlSqliteOptions,
} from './sqlite.ts';
export * from './users/index.ts';
export {
  DateOrInstantSchema,
  IdSchema,
  InstantSchema,
  MAX_ID,
  optionalText,
  type Page,
  PageSchema,
  parseInput,
  requiredText,
} from './validation.ts';
export * from './visitors/index.ts';
