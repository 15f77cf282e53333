/**
 * Keeps the control API and the web page to the developer's own tools. Both can read and change
 * everything and have no login, so a web page the developer visits must not drive them:
 *
 * - Host: the `Host` header must name a loopback host, the address the emulator was bound to (not a
 *   wildcard), or a name allowed with `--allow-host`; any port. A DNS-rebinding page reaches the port
 *   under its own name, so this is what stops it.
 * - Cross-site: a browser says where a request comes from in `Sec-Fetch-Site`, older ones only in
 *   `Origin`; either, when present, must name this server. Requests with neither (curl, tests, Node's
 *   fetch) are not sent by a web page.
 * - JSON bodies (control API): a body must be `application/json`, which a cross-site form or "simple"
 *   request cannot send without a CORS preflight.
 *
 * The Google-like routes are not guarded: the sidecar calls them from anywhere, and browsers reach the
 * consent page through redirects from other sites.
 */
import type { Request } from 'express';

export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '::1'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface Refusal {
  readonly status: 403 | 415;
  readonly error: 'forbidden' | 'unsupported_media_type';
  readonly description: string;
}

export interface GuardChecks {
  /** Refuse requests sent by another site. */
  readonly crossSite: boolean;
  /** Refuse bodies of POST/PUT/PATCH/DELETE that are not `application/json`. */
  readonly jsonBody: boolean;
}

export class RequestGuard {
  private readonly hosts: ReadonlySet<string>;

  /** `boundHost`: the address listened on; `allowedHosts`: more names the `Host` header may give. */
  constructor(
    options: { boundHost?: string | undefined; allowedHosts?: readonly string[] | undefined } = {},
  ) {
    const bound = options.boundHost === undefined ? undefined : normalizeHost(options.boundHost);
    this.hosts = new Set([
      ...LOOPBACK_HOSTS,
      ...(bound === undefined || WILDCARD_HOSTS.has(bound) ? [] : [bound]),
      ...(options.allowedHosts ?? []).map(normalizeHost),
    ]);
  }

  /** Whether a `Host` header value (`name[:port]`, `[v6][:port]`) names this emulator. */
  hostAllowed(header: string | undefined): boolean {
    const name = header === undefined ? undefined : hostnameOf(header);
    return name !== undefined && this.hosts.has(name);
  }

  /** Why the request is refused, or undefined when it may pass. */
  check(request: Request, checks: GuardChecks): Refusal | undefined {
    const host = request.get('host');
    if (!this.hostAllowed(host))
      return forbidden(`Host ${JSON.stringify(host ?? '')} is not this emulator's (see --allow-host).`);
    if (checks.crossSite && !sameSite(request, host as string))
      return forbidden('Refused: the request was sent by another site.');
    if (checks.jsonBody && BODY_METHODS.has(request.method) && hasBody(request) && !isJson(request))
      return {
        status: 415,
        error: 'unsupported_media_type',
        description: 'Control API bodies must be application/json.',
      };
    return undefined;
  }
}

function forbidden(description: string): Refusal {
  return { status: 403, error: 'forbidden', description };
}

/** The host name of a `Host` header, lower case, IPv6 without brackets; undefined when malformed. */
export function hostnameOf(header: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s]+))(?::\d{1,5})?$/i.exec(header.trim());
  if (!match) return undefined;
  return (match[1] ?? match[2] ?? '').toLowerCase();
}

/** A host name or address as given to `--host`/`--allow-host`: lower case, IPv6 without brackets. */
export function normalizeHost(name: string): string {
  return name
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
}

function sameSite(request: Request, host: string): boolean {
  const site = request.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = request.get('origin');
  return origin === undefined || origin.toLowerCase() === `${request.protocol}://${host}`.toLowerCase();
}

function hasBody(request: Request): boolean {
  if (request.get('transfer-encoding') !== undefined) return true;
  const length = request.get('content-length');
  return length !== undefined && length.trim() !== '0';
}

function isJson(request: Request): boolean {
  const type = request.get('content-type');
  return type !== undefined && type.split(';')[0]?.trim().toLowerCase() === 'application/json';
}
