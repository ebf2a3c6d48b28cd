/**
 * `swl doctor`: the consistency checks the test suite holds the desk to (`checkInvariants`:
 * a copy is `prestado` iff exactly one `aprobado` loan holds it; one event per transition; amounts
 * non-negative; foreign keys; SQLite `integrity_check`; …), the tool an operator runs after a
 * restore, an import or a crash. Read-only. Exit 0 when every check passes; otherwise each
 * violation is listed (table, row id, rule) and the exit code is 1. Source: issue 14.
 *
 * @module
 * @internal
 */
import { InvalidArgumentError } from 'commander';
import { checkInvariants, INVARIANT_RULES } from '../../operations/invariants.ts';
import { ChecksFailed } from '../context.ts';
import type { RegisterCommands } from './index.ts';

export const registerDoctor: RegisterCommands = (program, context) => {
  program
    .command('doctor')
    .description(
      'check the database’s invariants (copy prestado iff one aprobado loan, one event per ' +
        'transition, amounts non-negative, foreign keys, integrity_check…); exit 1 listing each ' +
        'violation (table, row id, rule); read-only',
    )
    .option('--max-per-rule <n>', 'list at most n violations per rule (default 100)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
      return n;
    })
    .action(async (options: { maxPerRule?: number }, command) => {
      const ctx = context(command);
      const report = await ctx.withOrm((orm) =>
        checkInvariants(orm, options.maxPerRule === undefined ? {} : { maxPerRule: options.maxPerRule }),
      );
      ctx.print(report, (r) => {
        if (r.ok) return `ok: ${r.rules.length} checks passed (${r.rules.join(', ')})`;
        const omitted = Object.entries(r.omitted).map(([rule, n]) => `  … ${rule}: ${n} more not listed`);
        return [
          ...r.violations.map(
            (v) => `${v.table ?? '(database)'}${v.id === null ? '' : ` #${v.id}`}  [${v.rule}]  ${v.message}`,
          ),
          ...omitted,
          '',
          'rules broken:',
          ...[...new Set(r.violations.map((v) => v.rule))].map(
            (rule) => `  ${rule}: ${INVARIANT_RULES[rule]}`,
          ),
        ];
      });
      if (!report.ok) {
        const total =
          report.violations.length + Object.values(report.omitted).reduce((a, b) => a + (b ?? 0), 0);
        throw new ChecksFailed(`doctor found ${total} violation${total === 1 ? '' : 's'}`);
      }
    });
};
