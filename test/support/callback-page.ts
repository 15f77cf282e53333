/** What every answer of the OAuth callback must look like: src/http/pages.ts's page and headers. */
import { expect } from 'vitest';

/** The security headers of src/http/pages.ts, by lower-case name. */
export const PAGE_HEADERS: Readonly<Record<string, RegExp>> = {
  'cache-control': /^no-store$/,
  'referrer-policy': /^no-referrer$/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'content-security-policy':
    /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; .*frame-ancestors 'none'$/,
  'content-type': /^text\/html; charset=utf-8$/,
};

/** The problems of a callback answer, empty when it is the page with every header. */
export function pageProblems(response: { headers: { get(name: string): string | null } }): string[] {
  const problems: string[] = [];
  for (const [name, pattern] of Object.entries(PAGE_HEADERS)) {
    const value = response.headers.get(name);
    if (value === null || !pattern.test(value)) problems.push(`${name}: ${value}`);
  }
  return problems;
}

/** Asserts the status, the headers and (unless told otherwise) an HTML body; returns the body. */
export async function expectCallbackPage(
  response: Response,
  status: number,
  options: { body?: boolean } = {},
): Promise<string> {
  expect(response.status).toBe(status);
  expect(pageProblems(response)).toEqual([]);
  const html = await response.text();
  if (options.body ?? true) expect(html).toMatch(/^<!doctype html>/);
  return html;
}
