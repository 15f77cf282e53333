/**
 * The small HTML pages the browser sees after Google's redirect. Everything interpolated is escaped;
 * nothing secret is ever passed in. The Content-Security-Policy allows only this page's own style
 * (by hash): no script, no frame, no form, no external resource.
 */
import { createHash } from 'node:crypto';
import type { Response } from 'express';

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f6f8;color:#1f2933;margin:0}
main{max-width:32rem;margin:12vh auto;background:#fff;border-radius:8px;padding:2rem 2.25rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin:0 0 1rem}.ok h1{color:#1b7f3b}.warn h1{color:#a15c00}.error h1{color:#b42318}
p{line-height:1.5}small{color:#52606d}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
};

export type PageTone = 'ok' | 'warn' | 'error';

export interface Page {
  readonly status: number;
  readonly tone: PageTone;
  readonly title: string;
  readonly paragraphs: readonly string[];
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export function sendPage(response: Response, page: Page): void {
  const body = page.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  response
    .status(page.status)
    .set(SECURITY_HEADERS)
    .type('html')
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(page.title)}</title><style>${STYLE}</style></head>
<body><main class="${page.tone}"><h1>${escapeHtml(page.title)}</h1>
${body}
<p><small>Tryton Google integration</small></p></main></body></html>
`);
}
