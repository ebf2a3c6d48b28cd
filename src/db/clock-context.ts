import { type Clock, systemClock } from '../clock.ts';

/** Clock of the EntityManager a service command runs on; read by entity timestamp hooks. */
const clocks = new WeakMap<object, Clock>();

/** Binds `clock` to `em` (a command's transactional EntityManager). @internal */
export function bindClock(em: object, clock: Clock): void {
  clocks.set(em, clock);
}

/** The current instant for rows flushed by `em`: its bound clock, else the system clock. @internal */
export function nowFor(em: object | undefined): Date {
  return ((em && clocks.get(em)) || systemClock).now();
}
