/**
 * The loan state machine as data, and the one function through which a loan's status changes.
 * Source: `docs/DESIGN.md` §3.
 *
 * ```
 *            request                approve                 return
 *  (none) ───────────▶ pendiente ───────────▶ aprobado ───────────▶ devuelto
 *                          │ reject / cancel     │  ▲ renew              │ ▲ settlePenalty
 *                          ▼                     └──┘                   └─┘
 *                      rechazado
 * ```
 *
 * @module
 */
import { LOAN_STATUSES, type LoanEventType, LoanStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';
import { compiled } from '../kernel/compiled.ts';
import { instantParam, type SwlDB, txIdParam } from '../kernel/db.ts';
import { StateMachine, type TransitionRow } from '../kernel/state-machine.ts';
import type { TransitionScope } from '../kernel/writes.ts';
import { termColumns } from './terms.ts';
import type { LoanView } from './views.ts';

const { Pending, Approved, Returned, Rejected } = LoanStatus;

/** The commands that move (or act on) a loan. */
export type LoanCommand = 'request' | 'approve' | 'reject' | 'cancel' | 'renew' | 'return' | 'settlePenalty';

/** One row of {@link LOAN_TRANSITIONS}. */
export type LoanTransition = TransitionRow<LoanStatus, LoanCommand, LoanEventType>;

/**
 * Every loan transition: the command, the status it leaves (`null`: the request creates the loan),
 * the status it enters and the `swl_loan_event.type` recorded. `renew` and `settlePenalty` act
 * on a loan without moving it. Anything not listed is refused with `INVALID_TRANSITION`.
 */
export const LOAN_TRANSITIONS: readonly LoanTransition[] = [
  { command: 'request', from: null, to: Pending, event: 'requested' },
  { command: 'approve', from: Pending, to: Approved, event: 'approved' },
  { command: 'reject', from: Pending, to: Rejected, event: 'rejected' },
  { command: 'cancel', from: Pending, to: Rejected, event: 'cancelled' },
  { command: 'renew', from: Approved, to: Approved, event: 'renewed' },
  { command: 'return', from: Approved, to: Returned, event: 'returned' },
  { command: 'settlePenalty', from: Returned, to: Returned, event: 'penalty_settled' },
];

/** States no command leaves (`devuelto`, `rechazado`). */
export const TERMINAL_LOAN_STATUSES: readonly LoanStatus[] = [Returned, Rejected];

/**
 * The loan machine over {@link LOAN_TRANSITIONS}: `canTransition`, `nextStates`,
 * `availableCommands`, `find`. Its table is checked when the module loads (one creation row, every
 * status reachable from `pendiente`, no way out of a terminal status).
 */
export const LOAN_MACHINE = new StateMachine<LoanStatus, LoanTransition>({
  name: 'loan',
  states: LOAN_STATUSES,
  terminal: TERMINAL_LOAN_STATUSES,
  transitions: LOAN_TRANSITIONS,
});

/** The status a new request starts in (`pendiente`). */
export const INITIAL_LOAN_STATUS: LoanStatus = LOAN_MACHINE.initial;

/** True when some command moves a loan from `from` to `to` (renewal counts as `aprobado → aprobado`). */
export function canTransition(from: LoanStatus, to: LoanStatus): boolean {
  return LOAN_MACHINE.canTransition(from, to);
}

/** The statuses a loan in `from` can enter, e.g. `nextStates('pendiente')` → `['aprobado', 'rechazado']`. */
export function nextStates(from: LoanStatus): LoanStatus[] {
  return LOAN_MACHINE.nextStates(from);
}

/** The commands that apply to a loan in `status`, e.g. `['renew', 'return']` for `aprobado`. */
export function availableCommands(status: LoanStatus): LoanCommand[] {
  return LOAN_MACHINE.availableCommands(status);
}

/**
 * The transition `command` makes from `status`.
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'loan', from, to, command, loanId }`
 *   when the command does not apply to a loan in `status`.
 */
export function assertLoanCommand(command: LoanCommand, status: LoanStatus, loanId?: number): LoanTransition {
  const row = LOAN_MACHINE.find(command, status);
  if (row) return row;
  const to = (LOAN_TRANSITIONS.find((t) => t.command === command) as LoanTransition).to;
  throw SwlError.invalidTransition('loan', status, to, { command, loanId });
}

/** The loan fields a transition may set, and the `swl_loan` column of each. */
const WRITABLE = {
  copyId: 'instance_id',
  approvalDate: 'approval_date',
  dueDate: 'due_date',
  approvedById: 'approved_by_id',
  rejectionDate: 'rejection_date',
  rejectedById: 'rejected_by_id',
  rejectionReason: 'rejection_reason',
  returnDate: 'return_date',
  receivedById: 'received_by_id',
  returnOutcome: 'return_outcome',
  overdueFine: 'overdue_fine',
  replacementCharge: 'replacement_charge',
  finalPenalty: 'final_penalty',
  observation: 'observation',
  renewalCount: 'renewal_count',
  penaltySettlement: 'penalty_settlement',
  penaltySettledAt: 'penalty_settled_at',
  penaltySettledById: 'penalty_settled_by_id',
} as const satisfies Partial<Record<keyof LoanView, keyof SwlDB['swl_loan']>>;

/** What a transition changes on a loan: fields of {@link LoanView} (`copyCode` for the view only). @internal */
export type LoanChanges = Partial<Pick<LoanView, keyof typeof WRITABLE | 'copyCode' | 'terms'>>;

/** One move of a loan through {@link applyLoanTransition}. @internal */
export interface LoanMove {
  /** The loan as the command read it (and, on PostgreSQL, locked). */
  loan: LoanView;
  command: Exclude<LoanCommand, 'request'>;
  /** The fields the move sets besides the status (dates are instants of the command). */
  changes: LoanChanges;
  /** The acting user. */
  actorId: number;
  /** The command's instant (UTC); also the row's new `updated_at`. */
  at: Date;
  /** The event's `data`. */
  data: Record<string, unknown>;
}

/**
 * The one way a loan's status changes: asserts the move against {@link LOAN_TRANSITIONS}, plans
 * the version-checked update (`where id = ? and version = ?`, exactly one row, else `CONFLICT`)
 * and the `swl_loan_event` row of the table's event type on the command's write batch, and queues
 * the event for publication after the outermost commit.
 * @returns the loan's view after the move (version + 1).
 * @throws SwlError `INVALID_TRANSITION` when the command does not apply to the loan's status.
 * @internal
 */
export function applyLoanTransition(scope: TransitionScope, move: LoanMove): LoanView {
  const { loan, at } = move;
  const t = assertLoanCommand(move.command, loan.status, loan.id);
  const set: Record<string, unknown> = { status: t.to, updated_at: instantParam(scope.postgres, at) };
  for (const [field, column] of Object.entries(WRITABLE)) {
    if (!(field in move.changes)) continue;
    const value = move.changes[field as keyof LoanChanges];
    set[column] = value instanceof Date ? instantParam(scope.postgres, value) : value;
  }
  if (move.changes.terms) Object.assign(set, termColumns(move.changes.terms));
  const columns = Object.keys(set);
  scope.writes.add({
    table: 'swl_loan',
    kind: 'update',
    query: compiled(
      scope.db,
      scope.postgres,
      `loan.update ${columns.join(',')}`,
      [...Object.values(set), loan.id, loan.version],
      (db, ...args) =>
        db
          .updateTable('swl_loan')
          .set({
            ...(Object.fromEntries(columns.map((column, k) => [column, args[k]])) as object),
            version: (eb) => eb('version', '+', 1),
          })
          .where('id', '=', args[columns.length] as number)
          .where('version', '=', args[columns.length + 1] as number)
          .returning('id'),
    ),
  });
  recordLoanEvent(scope, { loanId: loan.id, transition: t, actorId: move.actorId, at, data: move.data });
  return { ...loan, ...move.changes, status: t.to, version: loan.version + 1 };
}

/**
 * Plans the `swl_loan_event` row of a transition (`tx_id` set on PostgreSQL, `src/outbox.ts`) and
 * queues its publication. Used by {@link applyLoanTransition} and by the request, which creates
 * the loan.
 * @internal
 */
export function recordLoanEvent(
  scope: TransitionScope,
  event: {
    loanId: number;
    transition: LoanTransition;
    actorId: number;
    at: Date;
    data: Record<string, unknown>;
  },
): void {
  const { loanId, transition: t, actorId, at, data } = event;
  scope.writes.add({
    table: 'swl_loan_event',
    kind: 'insert',
    query: compiled(
      scope.db,
      scope.postgres,
      'loan_event.insert',
      [loanId, t.event, t.from, t.to, actorId, instantParam(scope.postgres, at), JSON.stringify(data)],
      (db, loan_id, type, from_status, to_status, actor_id, at, data) =>
        db
          .insertInto('swl_loan_event')
          .values({
            loan_id,
            type,
            from_status,
            to_status,
            actor_id,
            at,
            data,
            tx_id: txIdParam(scope.postgres),
          })
          .returning('id'),
    ),
    onId: (id) =>
      scope.emit(() => ({
        kind: 'loan',
        id,
        loanId,
        type: t.event,
        from: t.from,
        to: t.to,
        actorId,
        at,
        data,
      })),
  });
}
