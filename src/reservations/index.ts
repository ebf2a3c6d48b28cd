/**
 * Reservations: bookings of equipment for a date range with no double booking. Source: issue 16.
 *
 * @module
 */
export { DEFAULT_RESERVATION_POLICIES } from './defaults.ts';
export { ReservationService } from './reservation.service.ts';
export {
  AvailabilityInput,
  CancelReservationInput,
  ConfirmReservationInput,
  GetReservationInput,
  ListReservationPoliciesInput,
  ListReservationsInput,
  MAX_AVAILABILITY_RANGE_MS,
  PickUpReservationInput,
  RecordNoShowsInput,
  type ReservationPolicyRule,
  ReserveInput,
  UpsertReservationPolicyInput,
} from './schemas.ts';
export {
  assertReservationCommand,
  RESERVATION_MACHINE,
  RESERVATION_TRANSITIONS,
  type ReservationCommand,
  type ReservationTransition,
  TERMINAL_RESERVATION_STATUSES,
} from './transitions.ts';
export type {
  Availability,
  AvailabilityInterval,
  NoShowSweep,
  PickUpResult,
  ReservationDetails,
  ReservationEventView,
  ReservationPolicyView,
  ReservationView,
} from './views.ts';
