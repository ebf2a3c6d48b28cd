/**
 * Typed queries compiled once per shape. Building and compiling a Kysely query is most of its
 * JavaScript cost (tens of microseconds for a lifecycle read); the lifecycle commands send the same
 * few shapes with other values every time. {@link compiled} builds a shape once per dialect with
 * stand-ins for its arguments, keeps the SQL text and where each argument goes, and from then on
 * only fills in the values — the statement stays typed (its row type comes from the builder) and
 * its text stays identical, which also lets the SQLite dialect reuse its prepared statement and
 * PostgreSQL its named one.
 *
 * The `name` must determine the shape: anything that changes the SQL text (a lock clause, an
 * optional column, a branch on null) is part of the name, never an argument. With
 * `SWL_CHECK_QUERY_SHAPES=1` (set by the test run) every call is compiled afresh as well and must
 * give the same text, so a shape that depends on an argument fails the tests.
 *
 * Source: Kysely recipe "Splitting query building and execution"
 * (kysely.dev/docs/recipes/splitting-query-building-and-execution).
 *
 * @module
 */
import { type Compilable, CompiledQuery } from 'kysely';
import type { SwlKysely } from './db.ts';

/** Stands for argument `index` while a shape is compiled. */
class Slot {
  readonly index: number;
  constructor(index: number) {
    this.index = index;
  }
}

interface Shape {
  sql: string;
  /** Each parameter: an argument's {@link Slot}, or a constant of the shape. */
  parameters: readonly unknown[];
}

const shapes = new Map<string, Shape>();
const checkShapes = process.env.SWL_CHECK_QUERY_SHAPES === '1';

/**
 * The query `build(db, ...args)` compiles to, from the shape cache: `build` runs once per `name`
 * and dialect (with stand-ins for `args`), later calls only bind `args`.
 * @param db - Kysely on the command's transaction.
 * @param postgres - the dialect (each compiles its own text).
 * @param name - the shape's name; everything that changes the SQL text must be in it.
 * @param args - the values, in the order `build` takes them.
 * @param build - builds the query from its arguments; must not branch on them.
 */
export function compiled<A extends unknown[], O>(
  db: SwlKysely,
  postgres: boolean,
  name: string,
  args: [...A],
  build: (db: SwlKysely, ...args: A) => Compilable<O>,
): CompiledQuery<O> {
  const key = postgres ? `pg ${name}` : `sqlite ${name}`;
  let shape = shapes.get(key);
  if (shape === undefined) {
    const stand = args.map((_, i) => new Slot(i)) as A;
    const c = build(db, ...stand).compile();
    shape = { sql: c.sql, parameters: c.parameters };
    shapes.set(key, shape);
  } else if (checkShapes) {
    const fresh = build(db, ...args).compile().sql;
    if (fresh !== shape.sql)
      throw new Error(`query shape ${name} depends on its arguments:\n${shape.sql}\n${fresh}`);
  }
  const parameters = shape.parameters.map((p) => (p instanceof Slot ? args[p.index] : p));
  const query = CompiledQuery.raw(shape.sql, parameters) as CompiledQuery<O>;
  sent.set(query.queryId, query);
  return query;
}

/** The compiled queries by query id, for the query log (`src/kernel/db.ts`), which sees only ids and results. */
const sent = new WeakMap<object, CompiledQuery<unknown>>();

/** The compiled query of `queryId`, when {@link compiled} made it. */
export function compiledQueryOf(queryId: object): CompiledQuery<unknown> | undefined {
  return sent.get(queryId);
}
