/**
 * Notices: the schedule as data, claimed once, one digest per borrower. Source: issue 17.
 *
 * @module
 */
export { DEFAULT_NOTICE_RULES } from './defaults.ts';
export { DEFAULT_NOTICE_RETRY, NoticeService, type NoticeServiceOptions } from './notice.service.ts';
export { type RenderDigestTextOptions, renderDigestText } from './render.ts';
export * from './schemas.ts';
export * from './views.ts';
