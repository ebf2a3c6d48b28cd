/**
 * Time source of the services. The domain never calls `new Date()` itself: every instant it
 * records (request, approval, due, return dates, event times) comes from the injected clock, so
 * hosts and tests control time. All instants are UTC `Date`s. Source: issue "LoanService"
 * (injectable clock); docs/DESIGN.md §2 (timestamps are UTC).
 *
 * @module
 */

/** Something that tells the current instant. */
export interface Clock {
  /** The current instant (a new `Date` each call). */
  now(): Date;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that stays where it is put: for tests, examples and replays.
 *
 * @example
 * ```ts
 * const clock = new ManualClock('2026-03-02T08:00:00Z');
 * clock.advance({ hours: 9 });
 * ```
 */
export class ManualClock implements Clock {
  #ms: number;

  /** @param start - the initial instant (a `Date`, an ISO 8601 string, or epoch milliseconds). */
  constructor(start: Date | string | number) {
    this.#ms = new Date(start).getTime();
    if (Number.isNaN(this.#ms)) throw new RangeError('ManualClock: invalid start instant');
  }

  now(): Date {
    return new Date(this.#ms);
  }

  /** Sets the clock to an instant. */
  set(instant: Date | string | number): void {
    const ms = new Date(instant).getTime();
    if (Number.isNaN(ms)) throw new RangeError('ManualClock: invalid instant');
    this.#ms = ms;
  }

  /** Moves the clock forward (negative values move it back). */
  advance(by: { days?: number; hours?: number; minutes?: number; seconds?: number; ms?: number }): void {
    this.#ms +=
      (by.days ?? 0) * 86_400_000 +
      (by.hours ?? 0) * 3_600_000 +
      (by.minutes ?? 0) * 60_000 +
      (by.seconds ?? 0) * 1000 +
      (by.ms ?? 0);
  }
}
