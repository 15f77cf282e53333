/**
 * Everything the emulated Google remembers about OAuth: registered clients, consent requests waiting for
 * a decision, authorization codes, grants and tokens. In memory; `toJSON`/`load` let persistence.ts keep
 * it in a state file across restarts when asked (`--state`), and tests reset it between cases. Protocol
 * rules live in the routes; this module only stores, looks up and forgets, with time taken from an
 * injectable clock plus an offset the control API moves, so tests can move time either way.
 */
import { PushChannels } from './calendar/channels.js';
import { CalendarStore } from './calendar/store.js';
import { PeopleStore } from './people/store.js';
import { randomToken, TOKEN_PREFIX } from './secrets.js';

export interface Client {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
}

export type AccessType = 'online' | 'offline';
export type CodeChallengeMethod = 'S256' | 'plain';

export interface Pkce {
  readonly challenge: string;
  readonly method: CodeChallengeMethod;
}

/** A validated `/o/oauth2/v2/auth` request, kept server-side while the consent page is shown. */
export interface AuthorizationRequest {
  readonly id: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly state: string | undefined;
  readonly pkce: Pkce | undefined;
  readonly accessType: AccessType;
  readonly includeGrantedScopes: boolean;
  readonly loginHint: string | undefined;
  readonly expiresAt: number;
}

export interface AuthorizationCode {
  readonly code: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly email: string;
  readonly scopes: readonly string[];
  readonly pkce: Pkce | undefined;
  readonly accessType: AccessType;
  readonly expiresAt: number;
  redeemed: boolean;
}

/** Tokens remember the code they descend from, so a replayed code can revoke exactly them (RFC 6749 §4.1.2). */
interface TokenBase {
  readonly token: string;
  readonly clientId: string;
  readonly email: string;
  readonly scopes: readonly string[];
  readonly origin: string;
}
export type RefreshToken = TokenBase;
export interface AccessToken extends TokenBase {
  expiresAt: number;
}

/** Selects grants by client, user, or both; an empty selector matches every grant. */
export interface GrantSelector {
  readonly clientId?: string | undefined;
  readonly email?: string | undefined;
}

export interface Grant {
  readonly clientId: string;
  readonly email: string;
  readonly scopes: readonly string[];
  /** When the user last consented (ms since the epoch). */
  readonly grantedAt: number;
}

/** The OAuth part of the state as plain JSON: what a state file holds next to the calendars. */
export interface OAuthData {
  clients: Client[];
  requests: AuthorizationRequest[];
  codes: AuthorizationCode[];
  refreshTokens: RefreshToken[];
  accessTokens: AccessToken[];
  grants: Grant[];
  accounts: string[];
}

export interface StateOptions {
  readonly now: () => number;
  readonly accessTokenTtlSeconds: number;
  readonly codeTtlSeconds: number;
  readonly authorizationRequestTtlSeconds: number;
}

export class EmulatorState {
  readonly options: StateOptions;
  private readonly clients = new Map<string, Client>();
  private readonly requests = new Map<string, AuthorizationRequest>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly accessTokens = new Map<string, AccessToken>();
  /** Scopes granted per client and user: what `include_granted_scopes=true` adds to a new consent. */
  private readonly grants = new Map<string, { scopes: Set<string>; at: number }>();
  private readonly accounts = new Set<string>();
  /** Added to the injected clock: how `POST /__emulator/clock` moves time (kept in the state file). */
  private offsetMs = 0;
  /** Calendars and events of every account (calendar/store.ts); reset with the rest. */
  readonly calendar: CalendarStore;
  /** Push-notification channels and their delivery (calendar/channels.ts); reset with the calendars. */
  readonly push: PushChannels;
  /** Contacts and contact groups of every account (people/store.ts); reset with the rest. */
  readonly people: PeopleStore;

  constructor(options: StateOptions) {
    this.options = options;
    this.calendar = new CalendarStore(() => this.now());
    this.push = new PushChannels(this.calendar);
    this.people = new PeopleStore(() => this.now());
  }

  /** The emulator's time: the injected clock, moved by the control API's offset. */
  now(): number {
    return this.options.now() + this.offsetMs;
  }

  get clockOffset(): number {
    return this.offsetMs;
  }

  setClockOffset(ms: number): void {
    this.offsetMs = ms;
  }

  registerClient(client: Client): void {
    this.clients.set(client.clientId, { ...client, redirectUris: [...client.redirectUris] });
  }

  client(clientId: string): Client | undefined {
    return this.clients.get(clientId);
  }

  listClients(): Client[] {
    return [...this.clients.values()];
  }

  knownAccounts(): string[] {
    return [...this.accounts];
  }

  addAuthorizationRequest(request: Omit<AuthorizationRequest, 'id' | 'expiresAt'>): AuthorizationRequest {
    const stored = {
      ...request,
      id: randomToken(TOKEN_PREFIX.pendingRequest, 16),
      expiresAt: this.now() + this.options.authorizationRequestTtlSeconds * 1000,
    };
    this.requests.set(stored.id, stored);
    return stored;
  }

  /** A consent request answers one decision only; a second post of the same form finds nothing. */
  takeAuthorizationRequest(id: string): AuthorizationRequest | undefined {
    const request = this.requests.get(id);
    this.requests.delete(id);
    return request && request.expiresAt > this.now() ? request : undefined;
  }

  issueCode(request: AuthorizationRequest, email: string, scopes: readonly string[]): AuthorizationCode {
    this.accounts.add(email);
    const key = grantKey(request.clientId, email);
    const granted = this.grants.get(key)?.scopes ?? new Set<string>();
    for (const scope of scopes) granted.add(scope);
    this.grants.set(key, { scopes: granted, at: this.now() });
    const code: AuthorizationCode = {
      code: randomToken(TOKEN_PREFIX.code),
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      email,
      scopes: request.includeGrantedScopes ? [...new Set([...scopes, ...granted])] : [...scopes],
      pkce: request.pkce,
      accessType: request.accessType,
      expiresAt: this.now() + this.options.codeTtlSeconds * 1000,
      redeemed: false,
    };
    this.codes.set(code.code, code);
    return code;
  }

  /** Redeemed codes stay known (until reset) so that a replay is recognised as such. */
  code(code: string): AuthorizationCode | undefined {
    return this.codes.get(code);
  }

  issueRefreshToken(from: Omit<RefreshToken, 'token'>): RefreshToken {
    const token = { ...from, token: randomToken(TOKEN_PREFIX.refreshToken, 48) };
    this.refreshTokens.set(token.token, token);
    return token;
  }

  issueAccessToken(from: Omit<AccessToken, 'token' | 'expiresAt'>): AccessToken {
    const token = {
      ...from,
      token: randomToken(TOKEN_PREFIX.accessToken, 64),
      expiresAt: this.now() + this.options.accessTokenTtlSeconds * 1000,
    };
    this.accessTokens.set(token.token, token);
    return token;
  }

  refreshToken(token: string): RefreshToken | undefined {
    return this.refreshTokens.get(token);
  }

  /** An access token that exists, is not revoked and has not expired. */
  validAccessToken(token: string): AccessToken | undefined {
    const found = this.accessTokens.get(token);
    return found && found.expiresAt > this.now() ? found : undefined;
  }

  /** Any known token, expired access tokens included: Google's revoke accepts those too. */
  anyToken(token: string): RefreshToken | AccessToken | undefined {
    return this.refreshTokens.get(token) ?? this.accessTokens.get(token);
  }

  /** Every code and token handed out and still remembered: what log-leak tests grep for. */
  issuedSecrets(): string[] {
    return [...this.codes.keys(), ...this.refreshTokens.keys(), ...this.accessTokens.keys()];
  }

  /** Forgets every token descended from one code: the answer to a replayed code. */
  revokeOrigin(origin: string): number {
    return this.deleteTokens((token) => token.origin === origin);
  }

  /** Every grant (client, user, scopes, when last consented), oldest consent first. */
  listGrants(): Grant[] {
    return [...this.grants]
      .map(([key, grant]) => {
        const [clientId = '', email = ''] = key.split('\n');
        return { clientId, email, scopes: [...grant.scopes], grantedAt: grant.at };
      })
      .sort((a, b) => a.grantedAt - b.grantedAt);
  }

  /** Everything remembered, as plain JSON (see persistence.ts); `load` takes it back. */
  toJSON(): OAuthData {
    return structuredClone({
      clients: this.listClients(),
      requests: [...this.requests.values()],
      codes: [...this.codes.values()],
      refreshTokens: [...this.refreshTokens.values()],
      accessTokens: [...this.accessTokens.values()],
      grants: this.listGrants(),
      accounts: this.knownAccounts(),
    });
  }

  /** Replaces everything OAuth remembers with `data` (calendars are loaded separately). */
  load(data: OAuthData): void {
    const copy = structuredClone(data);
    this.clients.clear();
    for (const client of copy.clients) this.registerClient(client);
    fill(this.requests, copy.requests, (request) => request.id);
    fill(this.codes, copy.codes, (code) => code.code);
    fill(this.refreshTokens, copy.refreshTokens, (token) => token.token);
    fill(this.accessTokens, copy.accessTokens, (token) => token.token);
    this.grants.clear();
    for (const grant of copy.grants)
      this.grants.set(grantKey(grant.clientId, grant.email), {
        scopes: new Set(grant.scopes),
        at: grant.grantedAt,
      });
    this.accounts.clear();
    for (const account of copy.accounts) this.accounts.add(account);
  }

  /** Revokes whole grants, as Google does for any revoke: all tokens of the client and user, and the consent. */
  revokeGrants(selector: GrantSelector): number {
    for (const key of [...this.grants.keys()]) {
      const [clientId, email] = key.split('\n');
      if (matches({ clientId: clientId ?? '', email: email ?? '' }, selector)) this.grants.delete(key);
    }
    return this.deleteTokens((token) => matches(token, selector));
  }

  expireAccessTokens(selector: GrantSelector): number {
    let count = 0;
    for (const token of this.accessTokens.values()) {
      if (matches(token, selector) && token.expiresAt > this.now()) {
        token.expiresAt = this.now();
        count += 1;
      }
    }
    return count;
  }

  reset({ clients }: { clients: boolean }): void {
    if (clients) this.clients.clear();
    for (const map of [this.requests, this.codes, this.refreshTokens, this.accessTokens, this.grants])
      map.clear();
    this.accounts.clear();
    this.offsetMs = 0;
    // Forgets the push channels and delivery settings too (they follow the store's reset).
    this.calendar.reset();
    this.people.reset();
  }

  private deleteTokens(predicate: (token: TokenBase) => boolean): number {
    let count = 0;
    for (const map of [this.refreshTokens, this.accessTokens] as Map<string, TokenBase>[]) {
      for (const [key, token] of map) {
        if (predicate(token)) {
          map.delete(key);
          count += 1;
        }
      }
    }
    return count;
  }
}

function fill<T>(map: Map<string, T>, values: readonly T[], key: (value: T) => string): void {
  map.clear();
  for (const value of values) map.set(key(value), value);
}

function grantKey(clientId: string, email: string): string {
  return `${clientId}\n${email}`;
}

function matches(token: { clientId: string; email: string }, selector: GrantSelector): boolean {
  return (
    (selector.clientId === undefined || token.clientId === selector.clientId) &&
    (selector.email === undefined || token.email === selector.email.toLowerCase())
  );
}
