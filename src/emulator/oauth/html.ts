/**
 * HTML answers of the emulated Google: every value escaped, a per-response CSP nonce for the one inline
 * style, and no framing. No `form-action` directive: browsers apply it to the redirect that follows the
 * consent POST, which would block the hop back to the client's redirect URI.
 */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#202124}
h1{font-size:1.4rem}label{display:block;margin:.4rem 0}.hint{color:#5f6368;font-size:.9rem}
button{margin-right:.5rem;padding:.4rem 1.2rem}code{word-break:break-all}`;

export function sendPage(response: Response, status: number, title: string, body: string): void {
  const nonce = randomBytes(16).toString('base64');
  response
    .status(status)
    .set({
      'Content-Security-Policy': `default-src 'none'; style-src 'nonce-${nonce}'; base-uri 'none'; frame-ancestors 'none'`,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    })
    .type('html')
    .send(
      `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style nonce="${nonce}">${STYLE}</style></head>
<body>
${body}
</body>
</html>
`,
    );
}

/** Google's error screen: no redirect, the code in the title ("Error 400: redirect_uri_mismatch"). */
export function sendErrorPage(response: Response, status: number, error: string, description: string): void {
  const title = `Error ${status}: ${error}`;
  sendPage(
    response,
    status,
    title,
    `<h1 id="error-title">${escapeHtml(title)}</h1>
<p id="error-description">${escapeHtml(description)}</p>
<p class="hint">Offline Google emulator: the request was not sent back to the application.</p>`,
  );
}
