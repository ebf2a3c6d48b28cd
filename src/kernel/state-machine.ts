/**
 * A small typed finite-state machine over a transition table that is plain data. The loan and copy
 * machines (`src/loans/transitions.ts`, `src/catalog/copy-transitions.ts`) are both built on it,
 * and so will be the machines still to come (reservations, holds, notices).
 *
 * The table says everything about a move: the command that makes it, the state it leaves, the state
 * it goes to and the event type recorded for it. A row whose `from` is `null` is the creation of a
 * record; its `to` is the initial state. Checked when the machine is built, so that a bad table
 * fails at import time rather than in production:
 * - every state named in a row is one of the machine's states;
 * - exactly one creation row (the initial state);
 * - no row leaves a terminal state for another state (a command may act on a terminal record
 *   without moving it, e.g. settling a returned loan's penalty);
 * - every state is reachable from the initial state;
 * - a command never has two rows from one state to one target.
 *
 * Shape after Vendure's `finite-state-machine.ts` and `validate-transition-definition.ts`
 * (github.com/vendure-ecommerce/vendure, packages/core/src/common/finite-state-machine): the table
 * is data, the machine is small, reachability is checked.
 *
 * @module
 */

/**
 * One row of a transition table.
 * @typeParam S - the states (stored values).
 * @typeParam C - the commands.
 * @typeParam E - the event types recorded.
 */
export interface TransitionRow<S extends string, C extends string, E extends string> {
  /** The command that makes the move. */
  readonly command: C;
  /** The state left, or `null` for the row that creates a record. */
  readonly from: S | null;
  /** The state entered (equal to `from` for a command that does not move the record). */
  readonly to: S;
  /** The event type recorded for the move. */
  readonly event: E;
}

/** What a {@link StateMachine} is built from. */
export interface MachineDefinition<S extends string, R extends TransitionRow<S, string, string>> {
  /** The machine's name, used in error messages (`loan`, `copy`). */
  readonly name: string;
  /** Every state. */
  readonly states: readonly S[];
  /** States no row leaves for another state. */
  readonly terminal: readonly S[];
  /** The transition table. */
  readonly transitions: readonly R[];
}

/** A transition table that breaks one of the rules of {@link StateMachine}. */
export class TransitionTableError extends Error {
  override readonly name = 'TransitionTableError';
}

/**
 * A finite-state machine over a transition table. Pure: it answers questions about the table and
 * never touches a database.
 * @typeParam S - the states.
 * @typeParam R - the row type (a {@link TransitionRow}, possibly with more columns).
 */
export class StateMachine<S extends string, R extends TransitionRow<S, string, string>> {
  /** The machine's name (`loan`, `copy`). */
  readonly name: string;
  /** Every state. */
  readonly states: readonly S[];
  /** States no row leaves for another state. */
  readonly terminal: readonly S[];
  /** The transition table, in its declared order. */
  readonly transitions: readonly R[];
  /** The state the creation row enters. */
  readonly initial: S;

  /**
   * @throws TransitionTableError when the table breaks a rule listed in the module comment.
   */
  constructor(definition: MachineDefinition<S, R>) {
    this.name = definition.name;
    this.states = definition.states;
    this.terminal = definition.terminal;
    this.transitions = definition.transitions;
    const fail = (message: string): never => {
      throw new TransitionTableError(`${definition.name} transitions: ${message}`);
    };
    const known = new Set<string>(definition.states);
    const seen = new Set<string>();
    for (const row of definition.transitions) {
      if (row.from !== null && !known.has(row.from)) fail(`unknown state ${row.from}`);
      if (!known.has(row.to)) fail(`unknown state ${row.to}`);
      if (row.from !== null && row.from !== row.to && definition.terminal.includes(row.from)) {
        fail(`${row.command} leaves the terminal state ${row.from}`);
      }
      const key = `${row.command}:${row.from}:${row.to}`;
      if (seen.has(key)) fail(`${row.command} has two rows from ${row.from} to ${row.to}`);
      seen.add(key);
    }
    const creations = definition.transitions.filter((row) => row.from === null);
    if (creations.length !== 1) fail(`expected one creation row (from: null), found ${creations.length}`);
    this.initial = (creations[0] as R).to;
    const reachable = new Set<S>([this.initial]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const row of definition.transitions) {
        if (row.from !== null && reachable.has(row.from) && !reachable.has(row.to)) {
          reachable.add(row.to);
          grew = true;
        }
      }
    }
    const unreachable = definition.states.filter((s) => !reachable.has(s));
    if (unreachable.length > 0) fail(`unreachable from ${this.initial}: ${unreachable.join(', ')}`);
  }

  /**
   * True when some row moves a record from `from` to `to` (optionally only rows matching
   * `where`). A terminal state has no next state: a command that acts on a terminal record
   * without moving it is not a transition of its status (it is in {@link availableCommands}).
   */
  canTransition(from: S, to: S, where?: (row: R) => boolean): boolean {
    return this.nextStates(from, where).includes(to);
  }

  /** The states a record in `from` can enter (each once, table order; none from a terminal state), optionally only by rows matching `where`. */
  nextStates(from: S, where?: (row: R) => boolean): S[] {
    const out: S[] = [];
    if (this.terminal.includes(from)) return out;
    for (const r of this.transitions) {
      if (r.from === from && (where?.(r) ?? true) && !out.includes(r.to)) out.push(r.to);
    }
    return out;
  }

  /** The commands that apply to a record in `from` (each once, table order). */
  availableCommands(from: S): Array<R['command']> {
    const out: Array<R['command']> = [];
    for (const r of this.transitions) if (r.from === from && !out.includes(r.command)) out.push(r.command);
    return out;
  }

  /**
   * The row `command` takes from `from` — to `to` when the command has several targets (a copy's
   * check-in) — or `undefined` when none applies.
   */
  find(command: R['command'], from: S | null, to?: S): R | undefined {
    return this.transitions.find(
      (r) => r.command === command && r.from === from && (to === undefined || r.to === to),
    );
  }

  /** The states reachable from `from` by any number of moves (not including `from` unless it loops back). */
  reachableFrom(from: S): S[] {
    const out = new Set<S>();
    const queue: S[] = [from];
    while (queue.length > 0) {
      const s = queue.shift() as S;
      for (const r of this.transitions) {
        if (r.from === s && !out.has(r.to)) {
          out.add(r.to);
          queue.push(r.to);
        }
      }
    }
    return [...out];
  }
}
