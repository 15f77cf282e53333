/**
 * The frame of the emulator's web pages: one inline style under a per-response CSP nonce, nothing loaded
 * from elsewhere, forms posting to the emulator only, no framing. Every value is escaped by the caller
 * through `h` (or `escapeHtml`); this module adds no unescaped text of its own.
 */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import { escapeHtml } from '../oauth/html.js';

export { escapeHtml };

/** Escapes a value for HTML text or a quoted attribute. */
export function h(value: string | number | undefined): string {
  return value === undefined ? '' : escapeHtml(String(value));
}

/** A path segment in an href or action, escaped for the attribute too. */
export function seg(value: string): string {
  return escapeHtml(encodeURIComponent(value));
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#202124}
h1{font-size:1.4rem}h2{font-size:1.2rem;border-top:2px solid #dadce0;padding-top:1rem;margin-top:2rem}
h3{font-size:1rem;margin-bottom:.3rem}table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{border-bottom:1px solid #e8eaed;padding:.25rem .4rem;text-align:left;vertical-align:top;font-size:.9rem}
.warn{background:#fef7e0;border:1px solid #f9ab00;padding:.5rem .8rem}.hint{color:#5f6368;font-size:.85rem}
.error{background:#fce8e6;border:1px solid #d93025;padding:.5rem .8rem}form.inline{display:inline}
label{display:inline-block;margin:.2rem .6rem .2rem 0}code{font-size:.8rem;word-break:break-all}
fieldset{border:1px solid #dadce0;margin:.4rem 0}`;

export const WARNING = `<p class="warn">Offline Google emulator: a <strong>development tool</strong>, not Google. It has no
login and no access control; anyone who can reach this port can read and change everything here.</p>`;

export function sendHtml(response: Response, status: number, title: string, body: string): void {
  const nonce = randomBytes(16).toString('base64');
  response
    .status(status)
    .set({
      'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      // Not no-referrer: with it, browsers send `Origin: null` with the page's own forms.
      'Referrer-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    })
    .type('html')
    .send(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${h(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body>
${WARNING}
${body}
</body>
</html>
`);
}

export function sendError(response: Response, status: number, message: string): void {
  sendHtml(
    response,
    status,
    'Emulator: not done',
    `<h1>Not done</h1><p class="error" id="error">${h(message)}</p><p><a href="/">Back</a></p>`,
  );
}
