/**
 * Options for the HTTP transport (gaxios) of Google's client libraries. The timeout must be given
 * here, when the transport is built: gaxios derives its abort signal from the options before any
 * request interceptor runs, so a timeout set in an interceptor never applies. The libraries' own
 * retries are off: retry.ts is the only retry policy.
 */
import type { OAuth2ClientOptions } from 'google-auth-library';

type GaxiosOptions = NonNullable<OAuth2ClientOptions['transporterOptions']>;

export function transportOptions(timeoutMs: number): GaxiosOptions {
  return { timeout: timeoutMs, retry: false, retryConfig: { retry: 0, noResponseRetries: 0 } };
}
