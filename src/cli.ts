/**
 * `tryton-google`: the sidecar's command line.
 *   serve                      start the sidecar from the environment
 *   migrate [--database NAME]  apply migrations to NAME (repeatable) or to every SIDECAR_DATABASES entry
 *   rotate-keys [--database NAME]  re-encrypt every token under the current key
 *   emulator --port N          the offline Google (src/emulator)
 *   doctor [--json]            check the configuration, databases, keys, Google and trytond (src/doctor)
 */
import { parseArgs } from 'node:util';
import type { Db } from './db/handle.js';
import { type Config, ConfigError, loadConfig } from './config.js';
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

environment (see README.md, Configuration):
  DATABASE_URI             PostgreSQL server, e.g. postgresql://tryton:PASSWORD@localhost:5432/
  SIDECAR_API_KEY          key trytond sends (its sidecar_api_key), e.g. $(openssl rand -hex 32)
  SIDECAR_PUBLIC_URL       where browsers reach the sidecar, e.g. https://tryton.example.com/google-sidecar
  SIDECAR_ENCRYPTION_KEYS  base64 keys of 32 bytes, current first, e.g. $(openssl rand -base64 32)
  SIDECAR_DATABASES        optional allow-list of databases (comma-separated)
  migrate needs only DATABASE_URI; serve, rotate-keys and doctor need the four above.
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
  else if (['serve', 'migrate', 'rotate-keys', 'help', '--help', '-h'].includes(command ?? ''))
    process.stdout.write(USAGE);
  else throw new UsageError(`unknown command "${command}"`);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (rest.includes('--help') || rest.includes('-h')) return help(command);
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
