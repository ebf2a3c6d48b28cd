/**
 * Plain objects the {@link UserService} returns (never entities). They never contain the password
 * hash. Instants as UTC `Date`s.
 *
 * @module
 */
import type { Role } from '../domain/vocabulary.ts';
import type { User } from '../entities/user.entity.ts';

/** A user as hosts see it: everything but the password hash. */
export interface UserView {
  id: number;
  documentId: string;
  fullName: string;
  /** Lower case, or null. */
  email: string | null;
  phone: string | null;
  role: Role;
  programName: string | null;
  /** Inactive users cannot sign in or borrow; they are kept for history. */
  active: boolean;
  /** The password was set by someone else (or by the installer): the user should change it. */
  mustChangePassword: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Maps a user entity to its view, field by field (the hash is never read). @internal */
export function toUserView(user: User): UserView {
  return {
    id: user.id,
    documentId: user.documentId,
    fullName: user.fullName,
    email: user.email ?? null,
    phone: user.phone ?? null,
    role: user.role,
    programName: user.programName ?? null,
    active: user.active,
    mustChangePassword: user.mustChangePassword,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}
