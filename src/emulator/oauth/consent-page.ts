/**
 * The consent screen. Stable names and ids (`form#consent`, `email`, `scope` checkboxes, `decision`
 * buttons) so tests can drive it by plain HTTP or with a headless browser. The form carries only the id of
 * the request kept server-side, so the client, redirect URI and scopes cannot be altered in the browser.
 */
import type { AuthorizationRequest } from '../state.js';
import { escapeHtml } from './html.js';
import { isSignInScope } from './scopes.js';

export const DECISION_PATH = '/o/oauth2/v2/auth/decision';
export const DEFAULT_EMAIL = 'user@example.com';

export interface ConsentView {
  readonly request: AuthorizationRequest;
  readonly email: string;
  readonly knownAccounts: readonly string[];
}

export function consentBody({ request, email, knownAccounts }: ConsentView): string {
  const scopes = request.scopes
    .map((scope, index) => {
      // Sign-in scopes cannot be declined; a disabled box is not submitted, so the server adds them back.
      const fixed = isSignInScope(scope);
      const id = `scope-${index}`;
      return `<label for="${id}"><input type="checkbox" id="${id}" name="scope" value="${escapeHtml(scope)}" checked${
        fixed ? ' disabled' : ''
      }> <code>${escapeHtml(scope)}</code>${fixed ? ' <span class="hint">(always granted)</span>' : ''}</label>`;
    })
    .join('\n');
  const accounts = knownAccounts.map((account) => `<option value="${escapeHtml(account)}">`).join('');
  return `<h1>Sign in to continue to <span id="client-id">${escapeHtml(request.clientId)}</span></h1>
<p class="hint">Offline Google emulator. The application will be sent back to
<code id="redirect-uri">${escapeHtml(request.redirectUri)}</code>.</p>
<form id="consent" method="post" action="${DECISION_PATH}">
<input type="hidden" name="request" value="${escapeHtml(request.id)}">
<label for="email">Account</label>
<input type="email" id="email" name="email" value="${escapeHtml(email)}" list="accounts" required>
<datalist id="accounts">${accounts}</datalist>
<fieldset id="scopes"><legend>The application asks to</legend>
${scopes}
</fieldset>
<p><button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="deny" name="decision" value="deny" formnovalidate>Deny</button></p>
</form>`;
}
