/**
 * swl-library — the domain core of the SWL Library Management System: entities, the loan state
 * machine, lending policies and fines, the visitor log, on MikroORM 7 for SQLite and PostgreSQL.
 *
 * Migrations are in the `swl-library/migrations` subpath.
 *
 * @packageDocumentation
 */
export * from './domain/vocabulary.ts';
export * from './entities/index.ts';
export { SwlSqliteDialect, type SwlSqliteOptions } from './sqlite.ts';
