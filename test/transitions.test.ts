/**
 * The two transition tables as specifications: every (from, to) pair of each machine against a
 * readable matrix, every command against its rows, and the rules the machine checks when it is
 * built (reachability, terminal states, one creation row). Source: `docs/DESIGN.md` §3 (loans), §4
 * (copies); `src/kernel/state-machine.ts`.
 */
import { describe, expect, it } from 'vitest';
import { COPY_MACHINE, COPY_TRANSITIONS, type CopyTransition } from '../src/catalog/copy-transitions.ts';
import { COPY_STATUSES, LOAN_STATUSES } from '../src/domain/vocabulary.ts';
import { StateMachine, TransitionTableError } from '../src/kernel/state-machine.ts';
import { LOAN_MACHINE, LOAN_TRANSITIONS } from '../src/loans/transitions.ts';

/** Parses a matrix whose first line names the columns (to) and each further line starts with its row (from). */
function matrix(text: string): Map<string, Set<string>> {
  const [head, ...rows] = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/));
  const out = new Map<string, Set<string>>();
  for (const [from, ...cells] of rows) {
    out.set(from as string, new Set((head as string[]).filter((_, k) => cells[k] === '✓')));
  }
  return out;
}

/** Every pair of `states`, with whether `allowed` lists it. */
function pairs(states: readonly string[], allowed: Map<string, Set<string>>) {
  return states.flatMap((from) =>
    states.map((to) => ({ from, to, expected: allowed.get(from)?.has(to) ?? false })),
  );
}

describe('loan transitions (docs/DESIGN.md §3)', () => {
  // rows: from; columns: to. A terminal status has no next status.
  const LOAN_MOVES = matrix(`
               pendiente aprobado devuelto rechazado
    pendiente      .         ✓        .        ✓
    aprobado       .         ✓        ✓        .
    devuelto       .         .        .        .
    rechazado      .         .        .        .
  `);

  it.each(pairs(LOAN_STATUSES, LOAN_MOVES))('$from → $to allowed: $expected', ({ from, to, expected }) => {
    expect(LOAN_MACHINE.canTransition(from as never, to as never)).toBe(expected);
  });

  it.each([
    ['request', null, 'pendiente', 'requested'],
    ['approve', 'pendiente', 'aprobado', 'approved'],
    ['reject', 'pendiente', 'rechazado', 'rejected'],
    ['cancel', 'pendiente', 'rechazado', 'cancelled'],
    ['renew', 'aprobado', 'aprobado', 'renewed'],
    ['return', 'aprobado', 'devuelto', 'returned'],
    ['settlePenalty', 'devuelto', 'devuelto', 'penalty_settled'],
  ] as const)('%s: %s → %s records %s, and applies from no other status', (command, from, to, event) => {
    expect(LOAN_TRANSITIONS.filter((t) => t.command === command)).toEqual([{ command, from, to, event }]);
    for (const status of LOAN_STATUSES) {
      expect(LOAN_MACHINE.find(command, status) !== undefined).toBe(status === from);
    }
  });

  it('starts every loan pendiente, and every status is reachable from it', () => {
    expect(LOAN_MACHINE.initial).toBe('pendiente');
    expect(new Set([LOAN_MACHINE.initial, ...LOAN_MACHINE.reachableFrom('pendiente')])).toEqual(
      new Set(LOAN_STATUSES),
    );
  });

  it('offers each status the commands of its rows', () => {
    expect(LOAN_MACHINE.availableCommands('pendiente')).toEqual(['approve', 'reject', 'cancel']);
    expect(LOAN_MACHINE.availableCommands('aprobado')).toEqual(['renew', 'return']);
    expect(LOAN_MACHINE.availableCommands('devuelto')).toEqual(['settlePenalty']);
    expect(LOAN_MACHINE.availableCommands('rechazado')).toEqual([]);
  });
});

describe('copy transitions (docs/DESIGN.md §4)', () => {
  // rows: from; columns: to; L = only through a loan, D = a direct staff operation.
  const COPY_MOVES = `
                 disponible prestado mantenimiento perdido retirado
    disponible       .         L          D           D        D
    prestado         L         .          L           L        .
    mantenimiento    D         .          .           .        D
    perdido          D         .          D           .        D
    retirado         .         .          .           .        .
  `;
  const byLoan = matrix(COPY_MOVES.replaceAll('L', '✓').replaceAll('D', '.'));
  const direct = matrix(COPY_MOVES.replaceAll('D', '✓').replaceAll('L', '.'));
  const via = (kind: CopyTransition['via']) => (t: CopyTransition) => t.via === kind;

  it.each(pairs(COPY_STATUSES, byLoan))('$from → $to through a loan: $expected', ({ from, to, expected }) => {
    expect(COPY_MACHINE.canTransition(from as never, to as never, via('loan'))).toBe(expected);
  });

  it.each(pairs(COPY_STATUSES, direct))(
    '$from → $to by a staff operation: $expected',
    ({ from, to, expected }) => {
      expect(COPY_MACHINE.canTransition(from as never, to as never, via('direct'))).toBe(expected);
    },
  );

  it.each([
    ['lend', 'loaned', ['disponible>prestado']],
    ['checkIn', 'returned', ['prestado>disponible', 'prestado>mantenimiento', 'prestado>perdido']],
    ['sendToMaintenance', 'sent_to_maintenance', ['disponible>mantenimiento', 'perdido>mantenimiento']],
    ['repair', 'repaired', ['mantenimiento>disponible']],
    ['markLost', 'marked_lost', ['disponible>perdido']],
    ['markFound', 'found', ['perdido>disponible']],
    ['withdraw', 'withdrawn', ['disponible>retirado', 'mantenimiento>retirado', 'perdido>retirado']],
  ] as const)('%s records %s and makes exactly %j', (command, event, moves) => {
    const rows = COPY_TRANSITIONS.filter((t) => t.command === command);
    expect(rows.map((t) => `${t.from}>${t.to}`)).toEqual(moves);
    expect(new Set(rows.map((t) => t.event))).toEqual(new Set([event]));
  });

  it('creates every copy disponible, and every status is reachable from it', () => {
    expect(COPY_MACHINE.find('create', null)).toMatchObject({ to: 'disponible', event: 'created' });
    expect(new Set([COPY_MACHINE.initial, ...COPY_MACHINE.reachableFrom('disponible')])).toEqual(
      new Set(COPY_STATUSES),
    );
  });
});

describe('StateMachine refuses a bad table when it is built', () => {
  const row = (command: string, from: 'a' | 'b' | 'c' | null, to: 'a' | 'b' | 'c') => ({
    command,
    from,
    to,
    event: command,
  });
  const build = (transitions: ReturnType<typeof row>[], terminal: Array<'a' | 'b' | 'c'> = []) =>
    new StateMachine({ name: 't', states: ['a', 'b', 'c'] as const, terminal, transitions });

  it('accepts a table where every state is reachable', () => {
    expect(build([row('make', null, 'a'), row('go', 'a', 'b'), row('end', 'b', 'c')], ['c']).initial).toBe(
      'a',
    );
  });

  it('refuses a state unreachable from the initial one', () => {
    expect(() => build([row('make', null, 'a'), row('go', 'a', 'b')])).toThrow(/unreachable from a: c/);
  });

  it('refuses a way out of a terminal state, but not a command acting on it', () => {
    expect(() => build([row('make', null, 'a'), row('go', 'a', 'b'), row('back', 'b', 'c')], ['b'])).toThrow(
      TransitionTableError,
    );
    const m = build(
      [row('make', null, 'a'), row('go', 'a', 'b'), row('stay', 'b', 'b'), row('x', 'a', 'c')],
      ['b'],
    );
    expect(m.availableCommands('b')).toEqual(['stay']);
    expect(m.nextStates('b')).toEqual([]);
  });

  it('refuses no creation row, two creation rows, and an unknown state', () => {
    expect(() => build([row('go', 'a', 'b')])).toThrow(/one creation row/);
    expect(() => build([row('make', null, 'a'), row('make2', null, 'b'), row('go', 'a', 'c')])).toThrow(
      /one creation row/,
    );
    expect(() => build([row('make', null, 'a'), row('go', 'a', 'z' as 'c')])).toThrow(/unknown state z/);
  });
});
