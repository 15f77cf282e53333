/** RFC 6749 §5.2 error answers with the codes and descriptions Google uses. */
import type { Response } from 'express';

export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  readonly description: string;

  constructor(status: number, error: string, description: string) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.status = status;
    this.error = error;
    this.description = description;
  }
}

/** Token-endpoint answers must not be cached (RFC 6749 §5.1), errors included. */
export function sendTokenJson(response: Response, status: number, body: unknown): void {
  response.status(status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(body);
}

export function sendOAuthError(response: Response, error: OAuthError): void {
  if (error.status === 401) response.set('WWW-Authenticate', 'Basic realm="accounts.google.com"');
  sendTokenJson(response, error.status, { error: error.error, error_description: error.description });
}

/** Form parameters arrive as strings; a repeated parameter (an array) is treated as invalid, as Google does. */
export function param(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value = (source as Record<string, unknown>)[name];
  return typeof value === 'string' && Object.hasOwn(source, name) ? value : undefined;
}
