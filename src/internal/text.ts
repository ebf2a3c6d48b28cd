/**
 * Text helpers shared by the searchable services: accent/case folding and LIKE patterns.
 * @internal
 * @module
 */

/** Combining marks (accents) left over after NFD decomposition. */
const COMBINING_MARKS = /\p{M}/gu;

/**
 * Folds text for matching: lower case, accents removed (NFD, combining marks stripped), runs of
 * white space collapsed to one space, trimmed. `"  Cámara   Sony "` → `"camara sony"`.
 * @internal
 */
export function foldText(text: string): string {
  return text.toLowerCase().normalize('NFD').replace(COMBINING_MARKS, '').replace(/\s+/g, ' ').trim();
}

/** The escape character of every LIKE pattern the package builds (`… like ? escape '!'`). */
export const LIKE_ESCAPE = '!';

/**
 * A LIKE pattern matching `term` anywhere, with `%`, `_` and the escape character itself escaped
 * so they match literally. Use it as a bound parameter with `escape '!'`, never concatenated
 * into SQL.
 * @internal
 */
export function likeContains(term: string): string {
  return `%${term.replace(/[!%_]/g, (c) => `${LIKE_ESCAPE}${c}`)}%`;
}

/**
 * Splits folded search text into at most `max` distinct terms (each must match).
 * @internal
 */
export function searchTerms(text: string, max = 8): string[] {
  const folded = foldText(text);
  if (folded === '') return [];
  return [...new Set(folded.split(' '))].slice(0, max);
}
