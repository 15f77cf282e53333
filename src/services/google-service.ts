/**
 * The base of every Google service (template method), and their registry. `run` does what every
 * service needs, in order: get a valid access token for the credential through the refresh path
 * (refused with scope_not_granted, without calling Google, when the service's scopes were not
 * granted), open a session on the configured API root, let the subclass `execute` its work, record
 * the outcome, and turn failures into the documented errors. Inside `execute`, every call to
 * Google goes through `session.call`: paced under the quotas, bounded in time, retried when
 * transient (5xx, 429, rate-limit 403s, network), and retried once with a fresh token on a 401;
 * 404, 409, 410 and 412 come back as GoogleError for the subclass to act on.
 * A service with a `key` (services catalog.ts) runs only for credentials that list it.
 * Adding a service (Drive, Gmail) is a subclass and a field of `Services` (services.ts, docs/services.md).
 */
import { forceRefresh, getAccessToken } from '../credentials/access-token.js';
import type { CredentialContext, CredentialRef } from '../credentials/context.js';
import { credentialLogger } from '../credentials/context.js';
import { googleFailure } from '../credentials/errors.js';
import { ErrorType, SidecarError } from '../errors.js';
import { GoogleError } from '../google/errors.js';
import { callGoogle } from '../google/retry.js';
import { findCredential } from '../db/credentials-repository.js';
import type { Logger } from '../log.js';
import type { ChannelTokens } from '../oauth/channel-token.js';
import { type ServiceKey, servicesOf } from './catalog.js';
import type { PacedCaller, Pacer } from './pacer.js';

export interface ServiceContext {
  readonly credentials: CredentialContext;
  /** Root of Google's REST APIs (GOOGLE_API_ROOT_URL): Google's, or the emulator's. */
  readonly apiRootUrl: string;
  /** trytond's base URL (TRYTOND_URL), where a service writes Tryton's records through its ORM. */
  readonly trytondUrl?: string | undefined;
  /** Bound of each call of trytond (TRYTOND_TIMEOUT), in milliseconds. */
  readonly trytondTimeoutMs?: number;
  readonly pacer: Pacer;
  /** Google's push notifications: whether channels are made, where they call, their tokens. */
  readonly notifications?: {
    readonly enabled: boolean;
    readonly address: string;
    readonly tokens: ChannelTokens | undefined;
  };
}

/** What a service's work uses to call Google for one credential. */
export interface GoogleSession {
  readonly ref: CredentialRef;
  readonly log: Logger;
  readonly apiRootUrl: string;
  /**
   * Runs one call to Google: `attempt` gets request options carrying the bearer token, the abort
   * signal and the timeout, and the libraries' own retries off.
   */
  call<T>(operation: string, attempt: (options: RequestOptions) => Promise<T>): Promise<T>;
}

export interface RequestOptions {
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
  readonly timeout: number;
  readonly retry: false;
}

export abstract class GoogleService<Input, Output> {
  /** The name callers and metrics know the service by. */
  abstract readonly name: string;
  /** Scopes the service needs; a credential asks for those of its enabled services. */
  abstract readonly scopes: readonly string[];
  /** Which of the credential's `services` this is; a service without one runs for every credential. */
  readonly key: ServiceKey | undefined = undefined;
  /**
   * The pacer bucket of the account's calls and its requests a minute: a service with a Google quota
   * of its own (People) has its own bucket; the others share the calendar's.
   */
  protected readonly pacerBucket: { readonly name: string; readonly perMinute: number } | undefined =
    undefined;

  constructor(protected readonly context: ServiceContext) {}

  async run(ref: CredentialRef, input: Input): Promise<Output> {
    const log = credentialLogger(this.context.credentials, ref).child({ service: this.name });
    try {
      const session = await this.openSession(ref, log);
      const output = await this.execute(session, input);
      await this.recordSuccess(ref, input, output);
      return output;
    } catch (caught) {
      const error = caught instanceof GoogleError ? googleFailure(ref.id, caught) : caught;
      // A credential that does not list the service has nothing of it to record the refusal on.
      if (error instanceof SidecarError && error.type !== ErrorType.ServiceNotEnabled) {
        log.warn({ type: error.type, err: error.message }, `${this.name} failed`);
        await this.recordFailure(ref, input, error).catch((failure: Error) =>
          log.warn({ err: failure.message }, 'could not record the failure'),
        );
      }
      throw error;
    }
  }

  /** The service's own work, on a session of one credential. */
  protected abstract execute(session: GoogleSession, input: Input): Promise<Output>;

  /** Where the service keeps its outcome for users to see (e.g. the calendar's last sync). */
  protected async recordSuccess(_ref: CredentialRef, _input: Input, _output: Output): Promise<void> {}

  protected async recordFailure(_ref: CredentialRef, _input: Input, _error: SidecarError): Promise<void> {}

  /** The credential stopped handing out tokens (revoked): what the service keeps on it follows. */
  async credentialChanged(_ref: CredentialRef): Promise<void> {}

  private async openSession(ref: CredentialRef, log: Logger): Promise<GoogleSession> {
    const { credentials, pacer, apiRootUrl } = this.context;
    const row = await findCredential(ref.db, ref.id);
    if (row && this.key && !servicesOf(row).includes(this.key)) {
      throw new SidecarError(
        ErrorType.ServiceNotEnabled,
        `credential ${ref.id} does not list the ${this.name} service: tick it on the credential and click Re-authorize`,
        { credential_id: ref.id, service: this.key },
      );
    }
    let token = (await getAccessToken(credentials, ref, { minValidity: 300, scopes: this.scopes }))
      .access_token;
    const policy = credentials.google.retry;
    const caller: PacedCaller = {
      user: this.pacerBucket ? `${this.pacerBucket.name}:${ref.id}` : String(ref.id),
      project: row?.client_id ?? '',
      ...(this.pacerBucket ? { perUser: this.pacerBucket.perMinute } : {}),
    };
    // A rate-limit answer holds off every replica's calls; the hold is best effort, the call goes on.
    const onFailure = (error: GoogleError) =>
      pacer
        .rateLimited(ref.db, caller, error)
        .catch((failure: Error) => log.warn({ err: failure.message }, 'could not hold off the pacer'));
    return {
      ref,
      log,
      apiRootUrl,
      call: async (operation, attempt) => {
        const once = async () => {
          // Paced before the call: waiting for a slot is not part of Google's time to answer.
          await pacer.take(ref.db, caller);
          return callGoogle(
            operation,
            (signal) =>
              attempt({
                headers: { authorization: `Bearer ${token}` },
                signal,
                timeout: policy.timeoutMs,
                retry: false,
              }),
            policy,
            onFailure,
          );
        };
        try {
          return await once();
        } catch (error) {
          if (!(error instanceof GoogleError) || error.status !== 401) throw error;
          // Google no longer takes this token (revoked, or expired early): one fresh try.
          await forceRefresh(credentials, ref);
          token = (await getAccessToken(credentials, ref, { minValidity: 300, scopes: this.scopes }))
            .access_token;
          return once();
        }
      },
    };
  }
}
