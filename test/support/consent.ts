/**
 * Drives the emulator's consent page the way a browser submits it: GET the page, read the form,
 * POST the user's decision, and follow Google's redirect to the sidecar's callback.
 */
export interface ConsentChoice {
  readonly decision?: 'allow' | 'deny';
  readonly email?: string;
  /** Scopes to leave ticked (default: all that were offered). */
  readonly keep?: (scope: string) => boolean;
}

export interface ConsentResult {
  /** Where Google redirected the browser (the sidecar's callback URL with code/state or error). */
  readonly redirect: string;
}

function decode(text: string): string {
  return text.replace(/&#(\d+);/g, (_m, code) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}

export async function consent(authorizationUrl: string, choice: ConsentChoice = {}): Promise<ConsentResult> {
  const page = await fetch(authorizationUrl);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${html.slice(0, 300)}`);
  const action = /<form id="consent" method="post" action="([^"]+)"/.exec(html)?.[1];
  const requestId = /name="request" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !requestId) throw new Error('consent form not found');
  const body = new URLSearchParams({ request: decode(requestId), decision: choice.decision ?? 'allow' });
  body.set('email', choice.email ?? 'calendar.owner@example.com');
  for (const match of html.matchAll(
    /<input type="checkbox" id="[^"]+" name="scope" value="([^"]+)" checked( disabled)?>/g,
  )) {
    const scope = decode(match[1] as string);
    if (!match[2] && (choice.keep?.(scope) ?? true)) body.append('scope', scope);
  }
  const answer = await fetch(new URL(decode(action), authorizationUrl), {
    method: 'POST',
    body,
    redirect: 'manual',
  });
  const redirect = answer.headers.get('location');
  if (answer.status !== 302 || !redirect) throw new Error(`consent answered ${answer.status}`);
  return { redirect };
}

/** The browser following the redirect to the sidecar: the callback page's status and text. */
export async function followRedirect(
  redirect: string,
): Promise<{ status: number; html: string; headers: Headers }> {
  const response = await fetch(redirect, { redirect: 'manual' });
  return { status: response.status, html: await response.text(), headers: response.headers };
}
