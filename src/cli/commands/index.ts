/**
 * Every `swl` command module, in the order `swl --help` lists them. A module adds its commands
 * to the program; each action gets its {@link CliContext} from `context(command)`.
 *
 * @module
 * @internal
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { registerAdmin } from './admin.ts';
import { registerBackup } from './backup.ts';
import { registerDb } from './db.ts';
import { registerDoctor } from './doctor.ts';
import { registerImportFlask } from './import-flask.ts';
import { registerInit } from './init.ts';
import { registerMaintain } from './maintain.ts';
import { registerNotices } from './notices.ts';
import { registerReport } from './report.ts';
import { registerStats } from './stats.ts';
import { registerSweep } from './sweep.ts';
import { registerTransfer } from './transfer.ts';
import { registerVisits } from './visits.ts';

/** Adds one group of commands to the program. */
export type RegisterCommands = (program: Command, context: (command: Command) => CliContext) => void;

/** The command groups of `swl`. */
export const CLI_COMMANDS: readonly RegisterCommands[] = [
  registerInit,
  registerDb,
  registerAdmin,
  registerBackup,
  registerTransfer,
  registerImportFlask,
  registerVisits,
  registerSweep,
  registerNotices,
  registerStats,
  registerReport,
  registerMaintain,
  registerDoctor,
];
