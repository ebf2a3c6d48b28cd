import { Migration } from '@mikro-orm/migrations';

/**
 * Base of a SQLite migration that rebuilds tables other tables refer to (SQLite changes a column's
 * type, nullability or CHECK only by creating a new table, copying the rows and dropping the old
 * one). Dropping a referenced table with foreign keys on runs its `on delete restrict` rules and
 * fails as soon as the table holds rows, and SQLite ignores `pragma foreign_keys` inside a
 * transaction. So such a migration is not run in the migrator's transaction: {@link rebuild} turns
 * foreign keys off, opens its own transaction, runs the statements, refuses to commit if any
 * foreign key is then broken (`pragma foreign_key_check`), and turns foreign keys on again —
 * rolling back on any failure. Source: SQLite "ALTER TABLE", section "Making Other Kinds Of Table
 * Schema Changes" (the 12-step procedure).
 *
 * Run SQLite migrations with `allOrNothing: false` (as `swlOrmConfig` does): inside one
 * all-migrations transaction foreign keys cannot be turned off.
 */
export abstract class SqliteRebuildMigration extends Migration {
  override isTransactional(): boolean {
    return false;
  }

  /** Runs the statements `queue` adds with `addSql`, as described on the class. */
  protected async rebuild(queue: () => void): Promise<void> {
    const migrations = this.config.get('migrations');
    if (migrations.transactional !== false && migrations.allOrNothing !== false) {
      // Inside the migrator's all-migrations transaction this migration could neither turn foreign
      // keys off nor reach the connection that transaction holds: say so instead of hanging.
      throw new Error(
        `${this.name}: on SQLite run the swl-library migrations with \`migrations: { allOrNothing: false }\` ` +
          '(as swlOrmConfig does): this migration rebuilds tables with foreign keys off, which SQLite ' +
          'allows only outside a transaction',
      );
    }
    queue();
    const statements = this.getQueries().filter(
      (sql) => typeof sql !== 'string' || !/^\s*pragma foreign_keys\b/i.test(sql),
    );
    this.reset();
    await this.execute('pragma foreign_keys = off');
    try {
      await this.execute('begin immediate');
      try {
        for (const sql of statements) await this.execute(sql as string);
        const broken = (await this.execute('pragma foreign_key_check')) as unknown[];
        if (broken.length > 0) {
          throw new Error(`${this.name}: ${broken.length} broken foreign key(s) after the rebuild`);
        }
        await this.execute('commit');
      } catch (error) {
        await this.execute('rollback');
        throw error;
      }
    } finally {
      await this.execute('pragma foreign_keys = on');
    }
  }
}
