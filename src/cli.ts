/**
 * `tryton-google`: the sidecar's command line.
 *   serve                      start the sidecar from the environment
 *   migrate [--database NAME]  apply migrations to NAME (repeatable) or to every SIDECAR_DATABASES entry
 *   rotate-keys [--database NAME]  re-encrypt every token under the current key
 *   emulator --port N          the offline Google (src/emulator)
 *   doctor [--json]            check the configuration, databases, keys, Google and trytond (src/doctor)
 * Every command also takes --environment-file PATH (KEY=value lines read before the command runs).
 */
import { readFileSync } from 'node:fs';
import { parseArgs, parseEnv } from 'node:util';
import type { Db } from './db/handle.js';
import { type Config, ConfigError, GOOGLE_DEFAULTS, loadConfig } from './config.js';
import { isValidDatabaseName } from './db/database-name.js';
import { createLogger } from './log.js';

// Each command imports what it runs when it runs: `serve` neither loads nor holds the emulator.

const USAGE = `usage: tryton-google <command> [options]

commands:
  serve                       start the sidecar (configuration from the environment)
  migrate [--database NAME]   apply the sidecar's migrations to NAME (repeatable);
                              without --database, to every database in SIDECAR_DATABASES
  rotate-keys [--database NAME]
                              re-encrypt tokens under the first SIDECAR_ENCRYPTION_KEYS key;
                              databases chosen as for migrate
  emulator [--port N] [--host H] [--allow-host NAME]... [--client ID:SECRET:REDIRECT_URI]... [--state PATH]
                              run the offline Google emulator (OAuth2, Calendar v3, a web page at /;
                              --state keeps it across restarts; for tests and development)
  doctor [--database NAME]... [--trytond-config PATH] [--json]
                              check the configuration, databases, encryption keys, redirect URIs,
                              Google's endpoints and trytond's way to the sidecar; print the fixes
  help                        show this text (also: <command> --help)

options of every command:
  --environment-file PATH     read KEY=value lines from PATH first; its variables replace the
                              environment's (the demo writes .cache/demo/sidecar.env)

environment (see README.md, Configuration; every variable: tryton-google serve --help):
  DATABASE_URI             PostgreSQL server, e.g. postgresql://tryton:PASSWORD@localhost:5432/
  SIDECAR_API_KEY          key trytond sends (its sidecar_api_key), e.g. $(openssl rand -hex 32)
  SIDECAR_PUBLIC_URL       where browsers reach the sidecar, e.g. https://tryton.example.com/google-sidecar
  SIDECAR_ENCRYPTION_KEYS  base64 keys of 32 bytes, current first, e.g. $(openssl rand -base64 32)
  SIDECAR_DATABASES        optional allow-list of databases (comma-separated)
  migrate needs only DATABASE_URI; serve, rotate-keys and doctor need the four above.
`;

/**
 * Every variable `serve` reads: the keys of src/config.ts's schema (test/cli.test.ts holds this text
 * to that schema and to docs/contracts.md "Sidecar environment"), then PGUSER, which the
 * configuration reads beside them.
 */
const SERVE_USAGE = `usage: tryton-google serve [--environment-file PATH]

Starts the sidecar: JSON-RPC for trytond on /rpc, Google's OAuth callback and push notifications,
/healthz, /readyz and /metrics, and the background work (token refresh, calendar and contacts sync).
SIGTERM or SIGINT stops it cleanly; a missing or invalid variable stops it with exit code 78.

  --environment-file PATH  read KEY=value lines from PATH first; its variables replace the environment's

environment (README.md, Configuration; bounds and details: docs/contracts.md, Sidecar environment):
  DATABASE_URI (required)
      PostgreSQL server, as trytond's [database] uri: postgresql://user:password@host:5432/
  SIDECAR_API_KEY (required)
      bearer key trytond sends to /rpc (its sidecar_api_key), 32 characters or more
  SIDECAR_PUBLIC_URL (required)
      http(s) URL where browsers reach the sidecar, equal to trytond's sidecar_public_url
  SIDECAR_ENCRYPTION_KEYS (required)
      comma-separated base64 keys of 32 bytes (AES-256-GCM), the current one first
  SIDECAR_HOST (default 127.0.0.1)
      listen address
  SIDECAR_PORT (default 8765)
      listen port (0..65535)
  SIDECAR_DATABASES
      comma-separated allow-list; unset: every database where google_integration is activated
  SIDECAR_REFRESH_INTERVAL (default 60)
      seconds between background token refresh passes (1..3600)
  SIDECAR_REFRESH_AHEAD (default 300)
      refresh in the background the tokens expiring within this many seconds (0..3000)
  SIDECAR_SYNC_INTERVAL (default 300)
      seconds between two background pulls of each enabled calendar (1..86400)
  SIDECAR_WATCHED_SYNC_INTERVAL (default 3600)
      seconds between pulls of a calendar whose push channel is healthy (60..86400)
  SIDECAR_PUSH_NOTIFICATIONS (default auto)
      on, off or auto (on when SIDECAR_PUBLIC_URL is https or GOOGLE_API_ROOT_URL is not Google's)
  SIDECAR_GOOGLE_TIMEOUT (default 10)
      seconds each attempt of a call to Google may take (0.1..120)
  SIDECAR_DATABASE_TIMEOUT (default 5)
      seconds to connect, get a pooled connection or wait for a lock (0.1..300)
  TRYTOND_URL
      trytond's base URL (e.g. http://127.0.0.1:8000) for the contacts sync; unset: contacts.sync refuses
  TRYTOND_TIMEOUT (default 60)
      seconds each call of the module's contacts route may take (0.1..600)
  LOG_LEVEL (default info)
      fatal, error, warn, info, debug, trace or silent
  GOOGLE_AUTH_URL (default ${GOOGLE_DEFAULTS.GOOGLE_AUTH_URL})
      Google's consent page
  GOOGLE_TOKEN_URL (default ${GOOGLE_DEFAULTS.GOOGLE_TOKEN_URL})
      Google's token endpoint
  GOOGLE_REVOKE_URL (default ${GOOGLE_DEFAULTS.GOOGLE_REVOKE_URL})
      Google's revocation endpoint
  GOOGLE_USERINFO_URL (default ${GOOGLE_DEFAULTS.GOOGLE_USERINFO_URL})
      the account's e-mail address
  GOOGLE_API_ROOT_URL (default ${GOOGLE_DEFAULTS.GOOGLE_API_ROOT_URL})
      root of Google's REST APIs; the emulator's root serves every Google service
  PGUSER
      the PostgreSQL user when DATABASE_URI names none (default: the system user)
`;

async function serve(): Promise<void> {
  const config = loadConfig(process.env, 'serve');
  const logger = createLogger(config.logLevel);
  const [{ startSidecar }, { closeOnSignals }] = await Promise.all([
    import('./main.js'),
    import('./shutdown.js'),
  ]);
  const sidecar = await startSidecar(config, logger);
  closeOnSignals(() => sidecar.close(), logger);
}

/** Runs `work` on each database named by --database (repeatable) or, without it, SIDECAR_DATABASES. */
async function eachDatabase(
  command: string,
  args: string[],
  config: Config,
  work: (db: Db, database: string) => Promise<void>,
): Promise<void> {
  const { values } = parseArgs({ args, options: { database: { type: 'string', multiple: true } } });
  const names = values.database ?? config.databases ?? [];
  if (names.length === 0) throw new UsageError(`${command} needs --database NAME or SIDECAR_DATABASES`);
  const bad = names.filter((name) => !isValidDatabaseName(name));
  if (bad.length > 0) throw new UsageError(`invalid database name(s): ${bad.join(', ')}`);
  const { createKnex } = await import('./db/pools.js');
  for (const name of names) {
    const knex = createKnex(config.databaseUri, name, { max: 1 });
    try {
      await work(knex, name);
    } finally {
      await knex.destroy();
    }
  }
}

async function migrate(args: string[]): Promise<void> {
  if (!process.env.DATABASE_URI) {
    throw new ConfigError([
      "DATABASE_URI: is required: the PostgreSQL server holding the databases, as trytond's [database] uri; for example\n" +
        '      DATABASE_URI=postgresql://tryton:PASSWORD@localhost:5432/ tryton-google migrate --database NAME',
    ]);
  }
  const config = loadConfig(process.env, 'database');
  const logger = createLogger(config.logLevel);
  const { migrateLatest } = await import('./db/migrate.js');
  await eachDatabase('migrate', args, config, async (knex, database) => {
    const applied = await migrateLatest(knex);
    logger.info({ database, applied }, applied.length ? 'migrations applied' : 'already up to date');
  });
}

async function rotate(args: string[]): Promise<void> {
  const config = loadConfig(process.env, 'serve');
  const logger = createLogger(config.logLevel);
  const [{ TokenCipher }, { rotateKeys }] = await Promise.all([
    import('./crypto/token-cipher.js'),
    import('./credentials/rotate-keys.js'),
  ]);
  const cipher = new TokenCipher(config.encryptionKeys);
  await eachDatabase('rotate-keys', args, config, async (knex, database) => {
    const { rows, values } = await rotateKeys(cipher, knex);
    logger.info({ database, rows, values, key: cipher.currentKeyId }, 'keys rotated');
  });
}

class UsageError extends Error {}

/** `<command> --help`: the command's own usage where it has one, else the general one. */
async function help(command: string | undefined): Promise<void> {
  if (command === 'emulator') process.stdout.write((await import('./emulator/cli.js')).EMULATOR_USAGE);
  else if (command === 'doctor') process.stdout.write((await import('./doctor/doctor.js')).DOCTOR_USAGE);
  else if (command === 'serve') process.stdout.write(SERVE_USAGE);
  else if (['migrate', 'rotate-keys', 'help', '--help', '-h'].includes(command ?? ''))
    process.stdout.write(USAGE);
  else throw new UsageError(`unknown command "${command}"`);
}

/**
 * Takes `--environment-file PATH` (or `--environment-file=PATH`, repeatable) out of `args` and loads
 * each file into process.env, where every command reads its configuration. A file's variables replace
 * the environment's: naming a file is the more deliberate choice (pointing `doctor` at the demo must
 * not check whatever DATABASE_URI the shell happens to hold). Not `--env-file`: Node 20 looks for
 * that option anywhere on its command line, script arguments included, and exits 9 when its file is
 * missing, before this code runs.
 */
function loadEnvFiles(args: readonly string[]): string[] {
  const rest: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    let path: string | undefined;
    if (arg === '--environment-file') {
      path = args[++index];
      if (path === undefined || path.startsWith('--'))
        throw new UsageError('--environment-file needs a PATH');
    } else if (arg.startsWith('--environment-file=')) path = arg.slice('--environment-file='.length);
    else {
      rest.push(arg);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      // Not a usage error (whose answer is the whole usage text): the file is missing or unreadable.
      throw new Error(
        `cannot read --environment-file: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    Object.assign(process.env, parseEnv(text));
  }
  return rest;
}

async function run(argv: string[]): Promise<void> {
  const [command, ...given] = argv;
  if (given.includes('--help') || given.includes('-h')) return help(command);
  const rest = loadEnvFiles(given);
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate':
      return migrate(rest);
    case 'rotate-keys':
      return rotate(rest);
    case 'emulator':
      return (await import('./emulator/cli.js')).runEmulatorCommand(rest, process.env);
    case 'doctor':
      process.exitCode = await (await import('./doctor/doctor.js')).runDoctor(rest, process.env);
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`tryton-google: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
    process.stderr.write(`tryton-google: ${error.message}\n\n${USAGE}`);
    process.exit(64); // EX_USAGE
  }
  process.stderr.write(`tryton-google: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
