import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { VISITOR_ROLES } from '../domain/vocabulary.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link LibraryLog} (table `swl_library_log`).
 *
 * The visitor entry log of `docs/legacy/000_266b31aaf8610e4d.txt` LibraryLog Table (visitor_name,
 * visitor_id, role, entry_time, activity), plus the registered `user` when the visitor is one and
 * the staff member who `recordedBy`. Indexed by entry time for period listings, statistics and the
 * retention purge.
 */
export const LibraryLogSchema = defineEntity({
  name: 'LibraryLog',
  tableName: 'swl_library_log',
  properties: {
    id: p.integer().primary().autoincrement(),
    visitorName: p.string().length(100),
    /** The visitor's document number. Max 20 chars. */
    visitorId: p.string().length(20),
    role: p.enum(VISITOR_ROLES),
    /** Entry instant, UTC. */
    entryTime: p.datetime().index('swl_library_log_entry_time_index'),
    /** What the visit was for (study, consultation, loan pick-up…). Max 50 chars. */
    activity: p.string().length(50),
    user: () => p.manyToOne(User).ref().nullable().deleteRule('set null').updateRule('cascade'),
    recordedBy: () => p.manyToOne(User).ref().nullable().deleteRule('set null').updateRule('cascade'),
  },
  indexes: [{ name: 'swl_library_log_visitor_id_index', properties: ['visitorId'] }],
});

/** One person entering the library. */
export class LibraryLog extends LibraryLogSchema.class {}
LibraryLogSchema.setClass(LibraryLog);
/** Plain shape of a {@link LibraryLog} row. */
export type ILibraryLog = InferEntity<typeof LibraryLogSchema>;
