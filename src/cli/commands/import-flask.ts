/**
 * `swl import-flask --from <app.db>`: moves the database of the original SWL Flask application
 * onto the package (`importSwlFlaskDatabase`, src/flask-import/import.ts). Source: issue 15.
 *
 * @module
 * @internal
 */
import { resolve } from 'node:path';
import {
  type FlaskImportReport,
  type FlaskPenaltyTreatment,
  importSwlFlaskDatabase,
} from '../../flask-import/import.ts';
import { ChecksFailed, UsageError } from '../context.ts';
import type { RegisterCommands } from './index.ts';

/** Collects repeated `from=to` options into a record. */
function mapping(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) throw new UsageError(`expected from=to, got '${value}'`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

const PENALTIES: readonly FlaskPenaltyTreatment[] = ['unpaid', 'paid', 'waived'];

function lines(r: FlaskImportReport): string[] {
  const out: string[] = [];
  const w = r.written;
  const rows = `${w.users} users, ${w.catalogEntries} catalog entries, ${w.copies} copies, ${w.loans} loans (${w.loanEvents} events rebuilt), ${w.visits} visits`;
  if (r.outcome === 'imported') out.push(`${r.merge ? 'merged' : 'imported'} ${rows}`);
  else if (r.outcome === 'dry-run') out.push(`dry run: would import ${rows}; nothing written`);
  else if (r.outcome === 'already-imported') out.push('this source is already imported; nothing changed');
  else out.push('import refused; nothing written');
  for (const reason of r.refusal) out.push(`  refused: ${reason}`);
  for (const v of r.unknownVocabulary)
    out.push(`  unknown ${v.table}.${v.column} '${v.value}': ${v.count} row(s)`);
  for (const i of r.inconsistencies) out.push(`  ${i.kind} ${i.table} #${i.id}: ${i.message} → ${i.repair}`);
  if (r.outcome === 'already-imported') return out;
  out.push(
    `penalties: ${r.money.loansWithPenalty} loan(s) with a penalty, imported as ${r.money.penalties}; ${r.money.inexact.length} inexact conversion(s) (${r.money.rule})`,
  );
  for (const m of r.money.inexact)
    out.push(`  loan #${m.loanId}: ${m.source} pesos → ${m.minorUnits} centavos`);
  out.push(
    `passwords: ${r.passwords.werkzeug} Werkzeug hash(es), upgraded to argon2id at each user's first sign-in; ${r.passwords.withoutPassword.length} user(s) without a password and ${r.passwords.unknownScheme.length} of an unknown scheme (they sign in after a reset)`,
  );
  if (r.defaultAdminPassword) {
    out.push(
      `WARNING: user #${r.defaultAdminPassword.id} (${r.defaultAdminPassword.documentId}) still has the original default password; it must change it at the next sign-in`,
    );
  }
  if (r.skipped.length > 0) out.push(`skipped ${r.skipped.length} row(s): see --json for each row`);
  if (r.merge) {
    const m = r.merge;
    out.push(
      `merge: ${m.matchedUsers.length} user(s) already in the target (same document id) and ${m.matchedEntries.length} catalog entr(y/ies) (same title, author/brand, category) matched, not written; source ids → target ids in --json (merge.ids)`,
    );
    for (const c of m.conflicts) out.push(`  conflict ${c.table} #${c.id}: ${c.message}`);
    for (const c of m.recoded)
      out.push(`  copy #${c.sourceId}: code ${c.from} → ${c.to ?? '(a new code of its entry)'}: relabel it`);
  }
  const s = r.replacedSeed;
  if (s.catalogEntries + s.users > 0) {
    out.push(
      `replaced the package's seed: ${s.users} admin, ${s.catalogEntries} catalog entries, ${s.copies} copies`,
    );
  }
  return out;
}

export const registerImportFlask: RegisterCommands = (program, context) => {
  program
    .command('import-flask')
    .description(
      'import the database of the original SWL Flask application (its SQLite file, instance/app.db, ' +
        'opened read-only, or its PostgreSQL database, read in a read-only transaction) into a database initialized by `swl init`, in one transaction: ids, codes, ' +
        'dates and Werkzeug password hashes kept, loan histories rebuilt, penalties converted to ' +
        'centavos; unknown roles/categories/statuses and inconsistent rows stop it with a report (map them, ' +
        'or --repair); a desk with data of its own only with --merge; a second import of the same source changes nothing; asks first (or --yes)',
    )
    .requiredOption('--from <file|url>', "the Flask application's SQLite file, or its PostgreSQL URL")
    .option('--dry-run', 'check and report everything; write nothing')
    .option('--map-role <from=to>', 'import a source role as one of the package’s (repeatable)', mapping)
    .option(
      '--map-category <from=to>',
      'import a source category as one of the package’s (repeatable)',
      mapping,
    )
    .option(
      '--map-status <from=to>',
      'import a source loan or copy status as one of the package’s (repeatable)',
      mapping,
    )
    .option('--repair', 'apply the repair policy to inconsistent rows instead of stopping')
    .option(
      '--merge',
      'add the source to a database that already has desk data: new ids (reported), users matched by document id, entries by title',
    )
    .option('--recode-clashes', 'with --merge: give a copy whose code the target has a new code (listed)')
    .option('--penalties <treatment>', 'the imported penalties are unpaid, paid or waived', 'unpaid')
    .action(
      async (
        options: {
          from: string;
          dryRun?: boolean;
          mapRole?: Record<string, string>;
          mapCategory?: Record<string, string>;
          mapStatus?: Record<string, string>;
          repair?: boolean;
          merge?: boolean;
          recodeClashes?: boolean;
          penalties: string;
        },
        command,
      ) => {
        const ctx = context(command);
        if (!PENALTIES.includes(options.penalties as FlaskPenaltyTreatment)) {
          throw new UsageError(`--penalties must be one of ${PENALTIES.join(', ')}`);
        }
        if (options.recodeClashes && !options.merge) throw new UsageError('--recode-clashes needs --merge');
        const source = /^postgres(ql)?:\/\//i.test(options.from) ? options.from : resolve(options.from);
        const base = {
          ...(options.mapRole ? { mapRole: options.mapRole } : {}),
          ...(options.mapCategory ? { mapCategory: options.mapCategory } : {}),
          ...(options.mapStatus ? { mapStatus: options.mapStatus } : {}),
          repair: options.repair === true,
          merge: options.merge === true,
          recodeClashes: options.recodeClashes === true,
          penalties: options.penalties as FlaskPenaltyTreatment,
        };
        const report = await ctx.withOrm(async (orm) => {
          const checked = await importSwlFlaskDatabase(orm, source, { ...base, dryRun: true });
          if (options.dryRun || checked.outcome !== 'dry-run') return checked;
          const w = checked.written;
          const yes = await ctx.confirm(
            `${checked.merge ? 'merge' : 'import'} ${w.users} users, ${w.copies} copies, ${w.loans} loans and ${w.visits} visits from ${checked.source.location}` +
              (checked.merge
                ? ' into this desk, which has data of its own?'
                : checked.replacedSeed.catalogEntries + checked.replacedSeed.users > 0
                  ? ", replacing the package's seeded catalog and admin?"
                  : '?'),
          );
          if (!yes) return null;
          const total =
            w.users + w.catalogEntries + w.copies + w.loans + w.loanEvents + w.copyEvents + w.visits;
          const bar = ctx.progress(total, 'import-flask');
          let last = 0;
          try {
            return await importSwlFlaskDatabase(orm, source, {
              ...base,
              onProgress: (done) => {
                bar.tick(done - last);
                last = done;
              },
            });
          } finally {
            bar.stop();
          }
        });
        if (!report) {
          ctx.note('not confirmed: nothing written');
          return;
        }
        ctx.print(report, lines);
        if (report.outcome === 'refused') throw new ChecksFailed('import refused');
      },
    );
};
