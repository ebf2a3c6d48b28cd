/**
 * The holds queue: title-level requests when no copy is available. Source: issue 16.
 *
 * @module
 */
export { HoldService } from './hold.service.ts';
export {
  CancelHoldInput,
  ExpireHoldsInput,
  FulfillHoldInput,
  GetHoldInput,
  HoldQueueInput,
  ListHoldsInput,
  PlaceHoldInput,
} from './schemas.ts';
export { DEFAULT_HOLD_PICKUP_MINUTES } from './serve.ts';
export {
  assertHoldCommand,
  HOLD_MACHINE,
  HOLD_TRANSITIONS,
  type HoldCommand,
  type HoldTransition,
  TERMINAL_HOLD_STATUSES,
} from './transitions.ts';
export type {
  FulfilledHold,
  HoldDetails,
  HoldEventView,
  HoldExpirySweep,
  HoldQueue,
  HoldView,
} from './views.ts';
