/**
 * The sidecar's configuration: one zod schema over the environment, parsed once at start-up by the
 * composition root. Nothing else in the sidecar reads `process.env`.
 */
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { isValidDatabaseName } from './db/database-name.js';

/** Google's production endpoints; each can be overridden to point at the emulator. */
export const GOOGLE_DEFAULTS = {
  GOOGLE_AUTH_URL: 'https://accounts.google.com/o/oauth2/v2/auth',
  GOOGLE_TOKEN_URL: 'https://oauth2.googleapis.com/token',
  GOOGLE_REVOKE_URL: 'https://oauth2.googleapis.com/revoke',
  GOOGLE_USERINFO_URL: 'https://openidconnect.googleapis.com/v1/userinfo',
  GOOGLE_API_ROOT_URL: 'https://www.googleapis.com/',
} as const;

export interface EncryptionKey {
  /** Short, stable identifier stored next to each ciphertext, so that rotation knows which key to use. */
  readonly id: string;
  readonly key: Buffer;
}

const httpUrl = z.url({
  protocol: /^https?$/,
  error: (issue) => (issue.input === undefined ? 'is required' : 'must be an http(s) URL'),
});

const databaseUri = z
  .string({ error: 'is required (for example postgresql://user:password@localhost:5432/)' })
  .refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), {
    error: 'must be a postgresql:// URI like trytond [database] uri',
  });

const encryptionKeys = z
  .string({ error: 'is required: one or more comma-separated base64 keys of 32 bytes, current first' })
  .transform((value, ctx) => {
    const keys: EncryptionKey[] = [];
    for (const [index, part] of value.split(',').entries()) {
      const text = part.trim();
      const key = Buffer.from(text, 'base64');
      if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
        // The key itself is never echoed back: only its position in the list.
        ctx.addIssue({ code: 'custom', message: `key #${index + 1} is not base64 of exactly 32 bytes` });
        return z.NEVER;
      }
      keys.push({ id: createHash('sha256').update(key).digest('hex').slice(0, 8), key });
    }
    return keys;
  });

const databaseList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  )
  .refine((names) => names.every(isValidDatabaseName), { error: 'holds an invalid database name' });

const envSchema = z.object({
  DATABASE_URI: databaseUri,
  SIDECAR_API_KEY: z
    .string({ error: 'is required' })
    .min(32, { error: 'must be at least 32 characters (use a random value, e.g. openssl rand -hex 32)' }),
  SIDECAR_PUBLIC_URL: httpUrl.transform((value) => value.replace(/\/+$/, '')),
  SIDECAR_HOST: z.string().min(1).default('127.0.0.1'),
  SIDECAR_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int()
    .min(0)
    .max(65535, { error: 'must be a port number' })
    .default(8765),
  SIDECAR_ENCRYPTION_KEYS: encryptionKeys,
  SIDECAR_DATABASES: databaseList.optional(),
  SIDECAR_REFRESH_INTERVAL: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(1, { error: 'must be at least 1 second' })
    .max(3600)
    .default(60),
  SIDECAR_SYNC_INTERVAL: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(1, { error: 'must be at least 1 second' })
    .max(86_400)
    .default(300),
  SIDECAR_REFRESH_AHEAD: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0)
    .max(3000, { error: 'must be at most 3000 seconds (Google tokens live one hour)' })
    .default(300),
  SIDECAR_GOOGLE_TIMEOUT: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.1, { error: 'must be at least 0.1 second' })
    .max(120)
    .default(10),
  SIDECAR_DATABASE_TIMEOUT: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.1, { error: 'must be at least 0.1 second' })
    .max(300)
    .default(5),
  SIDECAR_PUSH_NOTIFICATIONS: z
    .enum(['auto', 'on', 'off'], { error: 'must be auto, on or off' })
    .default('auto'),
  SIDECAR_WATCHED_SYNC_INTERVAL: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(60, { error: 'must be at least 60 seconds' })
    .max(86_400)
    .default(3600),
  TRYTOND_URL: httpUrl.transform((value) => value.replace(/\/+$/, '')).optional(),
  TRYTOND_TIMEOUT: z.coerce
    .number({ error: 'must be a number of seconds' })
    .min(0.1, { error: 'must be at least 0.1 second' })
    .max(600)
    .default(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  GOOGLE_AUTH_URL: httpUrl.default(GOOGLE_DEFAULTS.GOOGLE_AUTH_URL),
  GOOGLE_TOKEN_URL: httpUrl.default(GOOGLE_DEFAULTS.GOOGLE_TOKEN_URL),
  GOOGLE_REVOKE_URL: httpUrl.default(GOOGLE_DEFAULTS.GOOGLE_REVOKE_URL),
  GOOGLE_USERINFO_URL: httpUrl.default(GOOGLE_DEFAULTS.GOOGLE_USERINFO_URL),
  GOOGLE_API_ROOT_URL: httpUrl.default(GOOGLE_DEFAULTS.GOOGLE_API_ROOT_URL),
});

export interface Config {
  readonly databaseUri: string;
  readonly apiKey: string;
  readonly publicUrl: string;
  readonly host: string;
  readonly port: number;
  readonly encryptionKeys: readonly EncryptionKey[];
  /** When set, the only databases served; otherwise any database holding the module's table. */
  readonly databases: readonly string[] | undefined;
  readonly logLevel: string;
  /** Bound of one call to Google (each attempt), in milliseconds. */
  readonly googleTimeoutMs: number;
  /** trytond's base URL, for the module's contacts route; undefined when not set. */
  readonly trytondUrl: string | undefined;
  /** Bound of each call of that route, in milliseconds. */
  readonly trytondTimeoutMs: number;
  /**
   * Bound of each database step, in milliseconds: getting a connection, a statement, waiting for
   * a row lock.
   */
  readonly databaseTimeoutMs: number;
  /** Background refresh: how often to look, and how long before expiry a token is refreshed. */
  readonly refresh: { readonly intervalSeconds: number; readonly aheadSeconds: number };
  /** Seconds between two pulls of each enabled calendar. */
  readonly syncIntervalSeconds: number;
  /**
   * Google's push notifications: whether calendars are watched, and how often a calendar whose
   * channel is healthy is still polled (never more often than syncIntervalSeconds).
   */
  readonly notifications: { readonly enabled: boolean; readonly watchedIntervalSeconds: number };
  readonly google: {
    readonly authUrl: string;
    readonly tokenUrl: string;
    readonly revokeUrl: string;
    readonly userinfoUrl: string;
    readonly apiRootUrl: string;
  };
}

/** Thrown when the environment is not a valid configuration; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** What a subcommand needs: `serve` needs every variable, `database` (migrations) only the database ones. */
export type ConfigNeeds = 'serve' | 'database';

/**
 * Parses the environment into a {@link Config}.
 * `database` needs only DATABASE_URI (for `migrate`); `serve` needs everything.
 */
export function loadConfig(env: NodeJS.ProcessEnv, needs: ConfigNeeds = 'serve'): Config {
  const schema = needs === 'serve' ? envSchema : envSchema.partial().required({ DATABASE_URI: true });
  // Empty strings are treated as unset, like most deployment tools write an unset variable.
  const input = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const value = result.data;
  return {
    databaseUri: withDefaultUser(value.DATABASE_URI, env.PGUSER),
    apiKey: value.SIDECAR_API_KEY ?? '',
    publicUrl: value.SIDECAR_PUBLIC_URL ?? '',
    host: value.SIDECAR_HOST ?? '127.0.0.1',
    port: value.SIDECAR_PORT ?? 8765,
    encryptionKeys: value.SIDECAR_ENCRYPTION_KEYS ?? [],
    databases: value.SIDECAR_DATABASES,
    logLevel: value.LOG_LEVEL ?? 'info',
    googleTimeoutMs: Math.round((value.SIDECAR_GOOGLE_TIMEOUT ?? 10) * 1000),
    trytondUrl: value.TRYTOND_URL,
    trytondTimeoutMs: Math.round((value.TRYTOND_TIMEOUT ?? 60) * 1000),
    databaseTimeoutMs: Math.round((value.SIDECAR_DATABASE_TIMEOUT ?? 5) * 1000),
    refresh: {
      intervalSeconds: value.SIDECAR_REFRESH_INTERVAL ?? 60,
      aheadSeconds: value.SIDECAR_REFRESH_AHEAD ?? 300,
    },
    syncIntervalSeconds: value.SIDECAR_SYNC_INTERVAL ?? 300,
    notifications: {
      enabled: notificationsEnabled(
        value.SIDECAR_PUSH_NOTIFICATIONS ?? 'auto',
        value.SIDECAR_PUBLIC_URL ?? '',
        value.GOOGLE_API_ROOT_URL ?? GOOGLE_DEFAULTS.GOOGLE_API_ROOT_URL,
      ),
      watchedIntervalSeconds: Math.max(
        value.SIDECAR_WATCHED_SYNC_INTERVAL ?? 3600,
        value.SIDECAR_SYNC_INTERVAL ?? 300,
      ),
    },
    google: {
      authUrl: value.GOOGLE_AUTH_URL ?? GOOGLE_DEFAULTS.GOOGLE_AUTH_URL,
      tokenUrl: value.GOOGLE_TOKEN_URL ?? GOOGLE_DEFAULTS.GOOGLE_TOKEN_URL,
      revokeUrl: value.GOOGLE_REVOKE_URL ?? GOOGLE_DEFAULTS.GOOGLE_REVOKE_URL,
      userinfoUrl: value.GOOGLE_USERINFO_URL ?? GOOGLE_DEFAULTS.GOOGLE_USERINFO_URL,
      apiRootUrl: value.GOOGLE_API_ROOT_URL ?? GOOGLE_DEFAULTS.GOOGLE_API_ROOT_URL,
    },
  };
}

/**
 * `auto`: Google calls only HTTPS addresses, so channels are made where the public URL is https, or
 * where the API is not Google's (an emulator, which also calls http).
 */
function notificationsEnabled(
  setting: 'auto' | 'on' | 'off',
  publicUrl: string,
  apiRootUrl: string,
): boolean {
  if (setting !== 'auto') return setting === 'on';
  return publicUrl.startsWith('https:') || apiRootUrl !== GOOGLE_DEFAULTS.GOOGLE_API_ROOT_URL;
}

/**
 * A URI without a user name means, as for libpq and trytond, PGUSER or else the operating-system user.
 * node-postgres would send no user at all when the process has no USER variable, so it is filled in here.
 */
function withDefaultUser(databaseUri: string, pgUser: string | undefined): string {
  const url = new URL(databaseUri);
  if (url.username === '') url.username = encodeURIComponent(pgUser ?? userInfo().username);
  return url.toString();
}
