/**
 * The module's contacts route (docs/contracts.md, "The module's route"): how the sidecar's work
 * reaches Tryton's ORM, so the party code sequence, the phone and e-mail normalization, validation
 * and other modules' overrides run on every party the sync writes. Each call is bounded in time and
 * holds no database connection of the sidecar while trytond answers.
 */
import { z } from 'zod';
import type { CredentialRef } from '../../credentials/context.js';
import { applicationKey } from '../../db/application-key-repository.js';
import { ErrorType, SidecarError } from '../../errors.js';
import { type ContactValues, contactValuesSchema } from './contact-values.js';

const partyState = z.object({
  party_id: z.number().int(),
  contact_id: z.number().int().nullable(),
  resource_name: z.string().nullable(),
  active: z.boolean(),
  replaced_by: z.number().int().nullable(),
  local_write: z.string().nullable(),
  in_scope: z.boolean(),
  values: contactValuesSchema,
});
export type PartyState = z.infer<typeof partyState>;

const partiesAnswer = z.object({ parties: z.array(partyState) });
const matchAnswer = z.object({
  matches: z.array(z.object({ email: z.string(), party_id: z.number().int() })),
});
const applyAnswer = z.object({
  results: z.array(
    z.object({
      party_id: z.number().int(),
      contact_id: z.number().int().nullable(),
      values: contactValuesSchema,
    }),
  ),
});
export type Applied = z.infer<typeof applyAnswer>['results'][number];

export type TrytonChange =
  | { readonly op: 'create'; readonly resource_name: string; readonly values: ContactValues }
  | {
      readonly op: 'update';
      readonly party_id: number;
      readonly resource_name: string;
      readonly values: ContactValues;
    }
  | { readonly op: 'archive'; readonly party_id: number };

/** Tryton refused a batch (a validation, an access right): its message, for the admin. */
export class TrytonRefused extends Error {}

export interface TrytonRouteSettings {
  /** trytond's base URL (TRYTOND_URL); undefined when not configured. */
  readonly url: string | undefined;
  readonly timeoutMs: number;
}

export class TrytonContacts {
  private key: string | null | undefined;

  constructor(
    private readonly settings: TrytonRouteSettings,
    private readonly ref: CredentialRef,
  ) {}

  async pending(limit: number): Promise<PartyState[]> {
    return (await this.post('pending', { limit }, partiesAnswer)).parties;
  }

  async read(partyIds: number[]): Promise<PartyState[]> {
    if (partyIds.length === 0) return [];
    return (await this.post('read', { party_ids: partyIds }, partiesAnswer)).parties;
  }

  async match(emails: string[]): Promise<Map<string, number>> {
    if (emails.length === 0) return new Map();
    const { matches } = await this.post('match', { emails }, matchAnswer);
    return new Map(matches.map(({ email, party_id }) => [email.toLowerCase(), party_id]));
  }

  async apply(changes: TrytonChange[]): Promise<Applied[]> {
    if (changes.length === 0) return [];
    return (await this.post('apply', { changes }, applyAnswer)).results;
  }

  private async post<T>(action: string, body: Record<string, unknown>, answer: z.ZodType<T>): Promise<T> {
    const { url, timeoutMs } = this.settings;
    if (!url) throw unreachable('TRYTOND_URL is not set: the sidecar cannot reach Tryton to write parties');
    this.key ??= await applicationKey(this.ref.db);
    if (!this.key) {
      throw unreachable(
        'no validated Tryton application key "google_integration" exists in this database: save the credential with the Contacts service ticked, or validate one under User > Applications',
      );
    }
    const target = `${url.replace(/\/$/, '')}/${encodeURIComponent(this.ref.database)}/google_integration/contacts/${action}`;
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ credential_id: this.ref.id, ...body }),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'refused';
      throw unreachable(`trytond at ${url} could not be reached (${reason})`);
    }
    const text = await response.text();
    if (response.status === 401 || response.status === 403)
      throw unreachable(
        'trytond refused the application key "google_integration": check User > Applications',
      );
    if (response.status === 404)
      throw unreachable(
        `trytond at ${url} has no contacts route for credential ${this.ref.id} in ${this.ref.database}: is the module updated, and does the credential list Contacts?`,
      );
    if (response.status === 422) throw new TrytonRefused(tidy(text));
    if (response.status === 400)
      throw unreachable(
        `trytond refused the sidecar's ${action} request as malformed (${tidy(text)}): the module and the sidecar may not be of the same version`,
      );
    if (!response.ok) throw unreachable(`trytond answered ${response.status} to ${action}`);
    const parsed = answer.safeParse(safeJson(text));
    if (!parsed.success) throw unreachable(`trytond's answer to ${action} is not what the contract says`);
    return parsed.data;
  }
}

function unreachable(message: string): SidecarError {
  return new SidecarError(ErrorType.TrytonUnreachable, message);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Tryton's message of a refusal, short enough for the credential's notice. */
function tidy(text: string): string {
  const body = safeJson(text) as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' ? body.message : text;
  return message.slice(0, 500);
}
