/**
 * The loan state machine as data. Source: docs/DESIGN.md §3.
 *
 * ```
 *            request                approve                 return
 *  (none) ───────────▶ pendiente ───────────▶ aprobado ───────────▶ devuelto
 *                          │ reject / cancel     │  ▲ renew
 *                          ▼                     └──┘
 *                      rechazado
 * ```
 *
 * @module
 */
import { LOAN_STATUSES, LoanStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';

/**
 * The commands that move a loan, each with the states it leaves from and goes to. `renew` is a
 * self-transition on `aprobado` (the due date moves, the status stays). `settlePenalty` acts on a
 * returned loan and leaves its status as it is.
 */
export const LOAN_TRANSITIONS = {
  approve: { from: LoanStatus.Pending, to: LoanStatus.Approved },
  reject: { from: LoanStatus.Pending, to: LoanStatus.Rejected },
  cancel: { from: LoanStatus.Pending, to: LoanStatus.Rejected },
  renew: { from: LoanStatus.Approved, to: LoanStatus.Approved },
  return: { from: LoanStatus.Approved, to: LoanStatus.Returned },
  settlePenalty: { from: LoanStatus.Returned, to: LoanStatus.Returned },
} as const satisfies Record<string, { from: LoanStatus; to: LoanStatus }>;

/** A command of {@link LOAN_TRANSITIONS}. */
export type LoanCommand = keyof typeof LOAN_TRANSITIONS;

/** The state a new request starts in. */
export const INITIAL_LOAN_STATUS: LoanStatus = LoanStatus.Pending;

/** States no command leaves (`devuelto`, `rechazado`); `settlePenalty` does not change status. */
export const TERMINAL_LOAN_STATUSES: readonly LoanStatus[] = [LoanStatus.Returned, LoanStatus.Rejected];

const STATUS_GRAPH: Readonly<Record<LoanStatus, readonly LoanStatus[]>> = Object.fromEntries(
  LOAN_STATUSES.map((s) => [
    s,
    [
      ...new Set(
        Object.values(LOAN_TRANSITIONS)
          .filter((t) => t.from === s && !TERMINAL_LOAN_STATUSES.includes(s))
          .map((t) => t.to),
      ),
    ],
  ]),
) as Record<LoanStatus, LoanStatus[]>;

/**
 * True when a loan in status `from` may move to status `to` (renewal counts as `aprobado →
 * aprobado`). Pure.
 */
export function canTransition(from: LoanStatus, to: LoanStatus): boolean {
  return STATUS_GRAPH[from]?.includes(to) ?? false;
}

/** The statuses a loan in status `from` can move to, e.g. `nextStates('pendiente')` → `['aprobado', 'rechazado']`. */
export function nextStates(from: LoanStatus): readonly LoanStatus[] {
  return STATUS_GRAPH[from] ?? [];
}

/** The commands applicable to a loan in status `status`, e.g. `['renew', 'return']` for `aprobado`. */
export function availableCommands(status: LoanStatus): LoanCommand[] {
  return (Object.keys(LOAN_TRANSITIONS) as LoanCommand[]).filter((c) => LOAN_TRANSITIONS[c].from === status);
}

/**
 * Throws `INVALID_TRANSITION` unless `command` applies to a loan in `status`.
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'loan', from, to, command, loanId }`
 */
export function assertLoanCommand(command: LoanCommand, status: LoanStatus, loanId?: number): void {
  const t = LOAN_TRANSITIONS[command];
  if (t.from !== status) {
    throw SwlError.invalidTransition('loan', status, t.to, { command, loanId });
  }
}
