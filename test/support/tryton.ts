/**
 * Real trytond 8.0 for tests: the project's virtualenv (scripts/python-env.sh) and a template
 * database on which `trytond-admin` activated google_integration. The template is rebuilt only
 * when the module's files change (their hash is the database's comment).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { createDatabase, dropDatabase, markTemplate, POSTGRES_URI, withAdmin } from './postgres.js';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..', '..');
const VENV = process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv');
const MODULE_DIR = join(ROOT, 'tryton-module');

export async function ensureVenv(): Promise<void> {
  await run('bash', [join(ROOT, 'scripts', 'python-env.sh')], { maxBuffer: 1 << 24 });
}

function trytondEnv(): NodeJS.ProcessEnv {
  const passfile = join(mkdtempSync(join(tmpdir(), 'gi-tryton-')), 'admin-password');
  writeFileSync(passfile, 'admin\n');
  return { ...process.env, TRYTOND_DATABASE__URI: POSTGRES_URI, TRYTONPASSFILE: passfile };
}

/** What the template activates: the module, and party (its extra dependency) for the contacts sync. */
const MODULES = ['google_integration', 'party'];

/**
 * `trytond-admin -d NAME -u google_integration party --activate-dependencies`, initialising NAME if
 * empty (the admin's email and password file keep it from prompting).
 */
export async function activateModule(database: string): Promise<{ stdout: string; stderr: string }> {
  await ensureVenv();
  return run(
    join(VENV, 'bin', 'trytond-admin'),
    ['-d', database, '--email', 'admin@example.com', '-u', ...MODULES, '--activate-dependencies'],
    { env: trytondEnv(), maxBuffer: 1 << 26, timeout: 600_000 },
  );
}

function moduleHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      if (['__pycache__', 'tests', 'doc', 'build'].includes(entry) || entry.endsWith('.egg-info')) continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(MODULE_DIR, path)).update(readFileSync(path));
    }
  };
  walk(MODULE_DIR);
  hash.update(readFileSync(join(MODULE_DIR, 'requirements-dev.txt')));
  hash.update(MODULES.join(' '));
  return hash.digest('hex').slice(0, 16);
}

const TRYTON_TEMPLATE = 'gi_test_template_tryton';

/** Name of an up-to-date template database with google_integration activated by trytond-admin. */
export async function trytonTemplate(): Promise<string> {
  const hash = moduleHash();
  return withAdmin((admin) =>
    // Test files run in parallel: one builds the template, the others wait on the lock, which a
    // transaction keeps on one connection.
    admin.transaction(async (lock) => {
      await lock.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [TRYTON_TEMPLATE]);
      const found = await lock.raw(
        `SELECT shobj_description(oid, 'pg_database') AS hash FROM pg_database WHERE datname = ?`,
        [TRYTON_TEMPLATE],
      );
      if (found.rows[0]?.hash === hash) return TRYTON_TEMPLATE;
      const building = `${TRYTON_TEMPLATE}_building`;
      await dropDatabase(building);
      await createDatabase(building);
      await activateModule(building);
      await dropDatabase(TRYTON_TEMPLATE);
      await withAdmin(async (other) => {
        await other.raw(`ALTER DATABASE "${building}" RENAME TO "${TRYTON_TEMPLATE}"`);
        await other.raw(`COMMENT ON DATABASE "${TRYTON_TEMPLATE}" IS '${hash}'`);
      });
      await markTemplate(TRYTON_TEMPLATE);
      return TRYTON_TEMPLATE;
    }),
  );
}
