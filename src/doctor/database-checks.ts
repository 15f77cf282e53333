/**
 * The doctor's checks of one database: it answers, the sidecar's migrations ran, google_integration
 * is activated (Tryton databases), the encryption keys open the key_check marker and the stored
 * tokens, and each credential's redirect URI lies under SIDECAR_PUBLIC_URL. Read-only throughout.
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.js';
import type { Config } from '../config.js';
import { DecryptionError, type TokenCipher } from '../crypto/token-cipher.js';
import { markerOpens } from '../credentials/key-check.js';
import { inspectDatabase, listDatabases } from '../db/catalog-repository.js';
import {
  appliedMigrations,
  credentialRedirectUris,
  readKeyCheckMarker,
  sampleSealedValues,
} from '../db/doctor-repository.js';
import { SIDECAR_SCHEMA } from '../db/migrate.js';
import { createKnex } from '../db/pools.js';
import { type Finding, ok, problem, skipped } from './report.js';

// As src/credentials/key-check.ts seals its marker.
const SEALED_COLUMNS = ['access_token', 'refresh_token', 'code_verifier'] as const;
const TOKEN_SAMPLE = 200;
const KEY_ID_HOWTO =
  "a key's id is the first 8 hex digits of the SHA-256 of its 32 bytes: printf %s KEY | base64 -d | sha256sum | cut -c1-8";

/** The databases to examine: --database, else SIDECAR_DATABASES, else the server's served ones. */
export async function databasesToCheck(
  config: Config,
  named: readonly string[] | undefined,
): Promise<{ names: string[]; findings: Finding[] }> {
  if (named && named.length > 0) return { names: [...named], findings: [] };
  if (config.databases) return { names: [...config.databases], findings: [] };
  const maintenance =
    decodeURIComponent(new URL(config.databaseUri).pathname.replace(/^\//, '')) || 'postgres';
  const findings: Finding[] = [];
  const names: string[] = [];
  let candidates: string[];
  try {
    candidates = await withKnex(config, maintenance, listDatabases);
  } catch (error) {
    return {
      names,
      findings: [
        problem(
          'database',
          maintenance,
          `cannot list the server's databases: ${databaseFailure(error)}`,
          databaseFix(error, maintenance, config),
        ),
      ],
    };
  }
  for (const candidate of candidates) {
    try {
      const shape = await withKnex(config, candidate, inspectDatabase);
      if (!shape.hasCredentialsTable) continue;
      if (shape.moduleState !== null && shape.moduleState !== 'activated') {
        findings.push(
          skipped(
            'database',
            candidate,
            `not served: it holds the credentials table but google_integration is "${shape.moduleState ?? 'unknown'}" there`,
            `trytond-admin -c <trytond.conf> -d ${candidate} -u google_integration --activate-dependencies, or name it in SIDECAR_DATABASES`,
          ),
        );
        continue;
      }
      names.push(candidate);
    } catch {
      // A database one may not connect to is not served either.
    }
  }
  if (names.length === 0) {
    findings.push(
      problem(
        'database',
        undefined,
        'SIDECAR_DATABASES is unset and no database of the server holds the credentials table with google_integration activated: the sidecar serves nothing',
        'activate google_integration in a Tryton database (trytond-admin -d NAME -u google_integration --activate-dependencies), or set SIDECAR_DATABASES',
      ),
    );
  } else {
    findings.push(
      ok('database', undefined, `SIDECAR_DATABASES is unset; served databases found: ${names.join(', ')}`),
    );
  }
  return { names, findings };
}

export async function checkDatabase(
  config: Config,
  cipher: TokenCipher,
  database: string,
): Promise<Finding[]> {
  // Key ids are hash prefixes, not secrets: they may be shown.
  const keyIds = config.encryptionKeys.map((key) => key.id);
  const knex = createKnex(config.databaseUri, database, { max: 1, timeoutMs: config.databaseTimeoutMs });
  try {
    let shape: Awaited<ReturnType<typeof inspectDatabase>>;
    try {
      shape = await inspectDatabase(knex);
    } catch (error) {
      return [
        problem(
          'database',
          database,
          `cannot be used: ${databaseFailure(error)}`,
          databaseFix(error, database, config),
        ),
      ];
    }
    const findings: Finding[] = [ok('database', database, 'answers')];
    findings.push(await checkMigrations(knex, database));
    findings.push(checkModule(shape.moduleState, database));
    findings.push(await checkKeyMarker(knex, cipher, keyIds, database));
    findings.push(await checkTokens(knex, cipher, keyIds, database));
    findings.push(...(await checkRedirectUris(knex, config.publicUrl, database)));
    return findings;
  } finally {
    await knex.destroy();
  }
}

async function checkMigrations(knex: Knex, database: string): Promise<Finding> {
  const known = MIGRATIONS.map(([name]) => name);
  const applied = await appliedMigrations(knex);
  const fix = `tryton-google migrate --database ${database} (serve also applies them at the database's first use)`;
  if (applied === undefined) {
    return problem(
      'migrations',
      database,
      `none of the sidecar's ${known.length} migrations ran here (no ${SIDECAR_SCHEMA}.knex_migrations)`,
      fix,
    );
  }
  const missing = known.filter((name) => !applied.includes(name));
  const unknown = applied.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    return problem(
      'migrations',
      database,
      `applied migrations this sidecar does not know: ${unknown.join(', ')} (a newer sidecar migrated this database)`,
      'run the sidecar version that migrated this database, or a newer one',
    );
  }
  if (missing.length > 0) {
    return problem(
      'migrations',
      database,
      `${missing.length} of ${known.length} migrations not applied: ${missing.join(', ')}`,
      fix,
    );
  }
  return ok('migrations', database, `up to date (${known.length} applied)`);
}

function checkModule(state: string | null | undefined, database: string): Finding {
  if (state === null) {
    return skipped(
      'module',
      database,
      'not a Tryton database (no ir_module table): the sidecar serves its own credentials table',
    );
  }
  if (state === 'activated') return ok('module', database, 'google_integration is activated');
  const activate = `trytond-admin -c <trytond.conf> -d ${database} -u google_integration --activate-dependencies`;
  if (state === undefined) {
    return problem(
      'module',
      database,
      'trytond does not list google_integration in this Tryton database',
      `install the module's package where trytond runs, then trytond-admin -c <trytond.conf> -d ${database} --update-modules-list and ${activate}`,
    );
  }
  return problem('module', database, `google_integration is "${state}", not activated`, activate);
}

async function checkKeyMarker(
  knex: Knex,
  cipher: TokenCipher,
  keyIds: readonly string[],
  database: string,
): Promise<Finding> {
  const marker = await readKeyCheckMarker(knex);
  if (marker === undefined) {
    return skipped('keys', database, `no ${SIDECAR_SCHEMA}.key_check table (migrations not applied)`);
  }
  if (marker === null) {
    return ok('keys', database, 'no key_check marker yet: the first sidecar serving the database seals it');
  }
  const keyId = sealedKeyId(marker);
  if (markerOpens(cipher, marker)) {
    return cipher.isCurrent(marker)
      ? ok('keys', database, `the key_check marker opens (key ${keyId}, the current one)`)
      : ok(
          'keys',
          database,
          `the key_check marker opens (key ${keyId}, an older one; tryton-google rotate-keys re-seals under the current key)`,
        );
  }
  return problem(
    'keys',
    database,
    `the key_check marker does not open with SIDECAR_ENCRYPTION_KEYS (${describeKey(keyId, keyIds)}; configured: ${configuredKeys(keyIds)}): the sidecar runs no background work here`,
    `put the key with id ${keyId} into SIDECAR_ENCRYPTION_KEYS (${KEY_ID_HOWTO}); if this database belongs to another deployment, leave it out of SIDECAR_DATABASES`,
  );
}

async function checkTokens(
  knex: Knex,
  cipher: TokenCipher,
  keyIds: readonly string[],
  database: string,
): Promise<Finding> {
  const rows = await sampleSealedValues(knex, TOKEN_SAMPLE);
  if (rows === undefined) return skipped('tokens', database, 'no credentials table');
  let total = 0;
  let older = 0;
  const failures = new Map<string, { values: number; credentials: Set<number> }>();
  for (const row of rows) {
    for (const column of SEALED_COLUMNS) {
      const sealed = row[column];
      if (sealed === null) continue;
      total += 1;
      try {
        cipher.open(sealed, { column, id: row.id });
        if (!cipher.isCurrent(sealed)) older += 1;
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error;
        const keyId = sealedKeyId(sealed);
        const failure = failures.get(keyId) ?? { values: 0, credentials: new Set<number>() };
        failure.values += 1;
        failure.credentials.add(row.id);
        failures.set(keyId, failure);
      }
    }
  }
  const sample =
    rows.length === TOKEN_SAMPLE ? ` (sample: the latest ${TOKEN_SAMPLE} credentials holding one)` : '';
  if (failures.size === 0) {
    if (total === 0) return ok('tokens', database, 'no sealed token or verifier stored yet');
    const rotate = older > 0 ? `; ${older} under an older key (tryton-google rotate-keys re-seals them)` : '';
    return ok('tokens', database, `all ${total} sealed values open${sample}${rotate}`);
  }
  const failed = [...failures.values()].reduce((sum, failure) => sum + failure.values, 0);
  const byKey = [...failures.entries()]
    .map(
      ([keyId, failure]) =>
        `${failure.values} sealed ${describeKey(keyId, keyIds)} (credential${failure.credentials.size === 1 ? '' : 's'} ${[...failure.credentials].sort((a, b) => a - b).join(', ')})`,
    )
    .join('; ');
  const missingKeys = [...failures.keys()].filter((keyId) => keyId !== '?' && !keyIds.includes(keyId));
  const credentials = [
    ...new Set([...failures.values()].flatMap((failure) => [...failure.credentials])),
  ].sort((a, b) => a - b);
  const restore =
    missingKeys.length > 0
      ? `put the key${missingKeys.length === 1 ? '' : 's'} with id ${missingKeys.join(', ')} back into SIDECAR_ENCRYPTION_KEYS (${KEY_ID_HOWTO}); otherwise `
      : '';
  return problem(
    'tokens',
    database,
    `${failed} of ${total} sealed values do not open${sample}: ${byKey}; configured keys: ${configuredKeys(keyIds)}`,
    `${restore}press Authorize in Tryton on credential${credentials.length === 1 ? '' : 's'} ${credentials.join(', ')} to store new tokens`,
  );
}

async function checkRedirectUris(knex: Knex, publicUrl: string, database: string): Promise<Finding[]> {
  const rows = await credentialRedirectUris(knex);
  if (rows === undefined) return [skipped('redirect-uris', database, 'no credentials table')];
  const perDatabase = `${publicUrl}/${database}/google/callback`;
  const shared = `${publicUrl}/google/callback`;
  const findings: Finding[] = [];
  for (const row of rows) {
    const uri = row.redirect_uri?.trim() ?? '';
    if (uri === perDatabase || uri === shared) continue;
    const who = `credential ${row.id} "${row.name}"`;
    const register =
      "in Tryton and among the OAuth client's Authorized redirect URIs in the Google Cloud console";
    if (uri === '') {
      findings.push(
        problem(
          'redirect-uris',
          database,
          `${who} has no redirect URI`,
          `set it to ${perDatabase} (${register})`,
        ),
      );
      continue;
    }
    const base = callbackBase(uri, database);
    const elsewhere =
      base === undefined
        ? ''
        : `; or, if browsers reach the sidecar at ${base}, set SIDECAR_PUBLIC_URL=${base} (and trytond's sidecar_public_url)`;
    findings.push(
      problem(
        'redirect-uris',
        database,
        `${who} has redirect URI ${uri}, which is not ${perDatabase} nor ${shared} (SIDECAR_PUBLIC_URL is ${publicUrl})`,
        `change it to ${perDatabase} (${register})${elsewhere}`,
      ),
    );
  }
  if (findings.length === 0) {
    findings.push(
      ok(
        'redirect-uris',
        database,
        rows.length === 0
          ? 'no credential yet'
          : `all ${rows.length} under SIDECAR_PUBLIC_URL (${publicUrl})`,
      ),
    );
  }
  return findings;
}

function callbackBase(uri: string, database: string): string | undefined {
  for (const suffix of [`/${database}/google/callback`, '/google/callback']) {
    if (uri.endsWith(suffix) && uri.length > suffix.length) return uri.slice(0, -suffix.length);
  }
  return undefined;
}

function sealedKeyId(sealed: string): string {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === 'gcm1' && parts[1] ? parts[1] : '?';
}

function describeKey(keyId: string, keyIds: readonly string[]): string {
  if (keyId === '?') return 'in no format the sidecar writes (not gcm1.<key id>.…)';
  return keyIds.includes(keyId)
    ? `under key ${keyId}, which is configured (the value was altered or copied from another row or column)`
    : `under key ${keyId}, which is not in SIDECAR_ENCRYPTION_KEYS`;
}

function configuredKeys(keyIds: readonly string[]): string {
  return keyIds.map((id, index) => (index === 0 ? `${id} (current)` : id)).join(', ');
}

async function withKnex<T>(config: Config, database: string, work: (knex: Knex) => Promise<T>): Promise<T> {
  const knex = createKnex(config.databaseUri, database, { max: 1, timeoutMs: config.databaseTimeoutMs });
  try {
    return await work(knex);
  } finally {
    await knex.destroy();
  }
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function databaseFailure(error: unknown): string {
  const code = sqlState(error);
  if (code === '3D000') return 'it does not exist';
  if (code === '28P01' || code === '28000') return 'PostgreSQL refused the login';
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/postgres(ql)?:\/\/\S+/g, '<DATABASE_URI>') || String(code ?? 'unknown error');
}

function databaseFix(error: unknown, database: string, config: Config): string {
  const code = sqlState(error);
  const server = new URL(config.databaseUri);
  const where = `${server.hostname}:${server.port || '5432'}`;
  if (code === '3D000') {
    return `create it (a Tryton database: trytond-admin -d ${database} --all), or remove it from SIDECAR_DATABASES`;
  }
  if (code === '28P01' || code === '28000') {
    return `check the user and password in DATABASE_URI and pg_hba.conf on ${where}`;
  }
  return `check that PostgreSQL runs and accepts connections at ${where} (DATABASE_URI), within SIDECAR_DATABASE_TIMEOUT`;
}
