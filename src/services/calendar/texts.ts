/** Texts as PostgreSQL's text type can hold them (docs/contracts.md, *Texts*). */

/**
 * A text as PostgreSQL can hold it: no NUL, and no half of a UTF-16 pair (it becomes U+FFFD), since
 * one such character would fail the write of its whole page, and the pull would stop there for good.
 */
export function storableText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  // String.prototype.toWellFormed (Node 20) is not in TypeScript's es2023 library.
  const wellFormed = (value as string & { toWellFormed(): string }).toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '') : wellFormed;
}
