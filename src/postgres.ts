/**
 * Server-side prepared statements on PostgreSQL for parameterized statements — the package's typed
 * Kysely queries (the loan lifecycle commands, the acting-user check). Each pooled connection
 * names a statement the first time it sends its text (`swl_0`, `swl_1`, … up to
 * {@link PREPARED_STATEMENTS_PER_CONNECTION}) and from then on only binds and executes it, so
 * PostgreSQL parses and plans it once per connection instead of on every command (planning a
 * lifecycle read costs more than running it). Statements without parameters — every statement
 * MikroORM 7.2.1 sends, since it inlines its parameters as literals (mikro-orm#8001), and
 * `BEGIN`/`COMMIT` — are sent as before. {@link swlOrmConfig} installs it on the pool it configures.
 *
 * Like any prepared-statement cache it assumes the tables do not change under a running
 * application: after a migration that changes the package's tables, re-open the ORM (PostgreSQL
 * refuses a prepared statement whose result type changed, `0A000`).
 *
 * Source: PostgreSQL manual, "PREPARE" and the extended query protocol (§55.2.3);
 * node-postgres "Prepared statements" (named queries, parsed once per connection).
 *
 * @module
 */

/** How many statements one connection prepares; texts beyond it are sent unnamed. */
export const PREPARED_STATEMENTS_PER_CONNECTION = 256;

/** The part of a `pg` client this module uses. */
export interface PgClientLike {
  query: (...args: unknown[]) => unknown;
}

/** The part of a `pg` pool this module uses. */
export interface PgPoolLike {
  on(event: 'connect', listener: (client: PgClientLike) => void): unknown;
}

/**
 * Makes every connection of `pool` send its parameterized statements as named prepared statements
 * (see the module comment). Pass it as MikroORM's `driverOptions.onPoolCreated` for PostgreSQL.
 * @param pool - the `pg` pool MikroORM creates.
 */
export function preparePostgresStatements(pool: PgPoolLike): void {
  pool.on('connect', (client) => {
    const names = new Map<string, string>();
    const query = client.query.bind(client);
    client.query = (config: unknown, values?: unknown, callback?: unknown) => {
      if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
        let name = names.get(config);
        if (name === undefined && names.size < PREPARED_STATEMENTS_PER_CONNECTION) {
          name = `swl_${names.size}`;
          names.set(config, name);
        }
        if (name !== undefined) return query({ name, text: config, values }, callback);
      }
      return query(config, values, callback);
    };
  });
}
