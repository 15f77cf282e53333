/**
 * deploy/trytond/init.sh, the one-shot `tryton-init` of docker-compose.yml, run here with the
 * project's trytond 8.0 (the same series as the image): it creates the database when missing,
 * activates google_integration and party with the admin password it is given, and is safe to run again.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, databaseExists, dropDatabase, POSTGRES_URI, uniqueName } from '../support/postgres.js';
import { ensureVenv, ROOT } from '../support/tryton.js';

const run = promisify(execFile);
const INIT = join(ROOT, 'deploy', 'trytond', 'init.sh');
const VENV = process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv');
const database = uniqueName('gi_test_deploy_init');

function init(env: Record<string, string | undefined>) {
  return run(INIT, [], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PYTHON: join(VENV, 'bin', 'python'),
      TRYTOND_ADMIN: join(VENV, 'bin', 'trytond-admin'),
      TRYTOND_DATABASE__URI: POSTGRES_URI,
      TRYTON_DATABASE: database,
      ...env,
    },
    maxBuffer: 1 << 26,
    timeout: 400_000,
  });
}

afterAll(async () => {
  await dropDatabase(database);
});

describe('tryton-google-init (deploy/trytond/init.sh)', () => {
  it('refuses to start without the admin password, creating nothing', async () => {
    await expect(init({ TRYTON_ADMIN_PASSWORD: undefined })).rejects.toMatchObject({
      stderr: expect.stringContaining('TRYTON_ADMIN_PASSWORD'),
    });
    expect(await databaseExists(database)).toBe(false);
  });

  it('creates the database, activates google_integration, and runs again harmlessly', async () => {
    await ensureVenv();
    const first = await init({
      TRYTON_ADMIN_PASSWORD: 'deploy-admin-password',
      TRYTON_ADMIN_EMAIL: 'ops@example.com',
    });
    expect(first.stderr).toContain(`created the database ${database}`);
    expect(first.stdout).toContain(`google_integration and party are activated in ${database}`);

    const db = connect(database);
    let passwordHash: string;
    try {
      const modules = await db('ir_module')
        .whereIn('name', ['google_integration', 'party', 'res'])
        .select('name', 'state');
      expect(modules.map((row) => row.state)).toEqual(['activated', 'activated', 'activated']);
      const admin = await db('res_user').where({ login: 'admin' }).first('email', 'password_hash');
      expect(admin.email).toBe('ops@example.com');
      expect(admin.password_hash).toBeTruthy();
      expect(admin.password_hash).not.toContain('deploy-admin-password');
      passwordHash = admin.password_hash;
      // The module's table is there for the sidecar.
      expect(await db.schema.hasTable('google_integration_google_credentials')).toBe(true);
    } finally {
      await db.destroy();
    }

    const again = await init({ TRYTON_ADMIN_PASSWORD: 'another', TRYTON_ADMIN_EMAIL: 'other@example.com' });
    expect(again.stderr).not.toContain('created the database');
    expect(again.stdout).toContain(`google_integration and party are activated in ${database}`);
    // The admin's email and password belong to Tryton once set.
    const check = connect(database);
    try {
      const admin = await check('res_user').where({ login: 'admin' }).first('email', 'password_hash');
      expect(admin).toEqual({ email: 'ops@example.com', password_hash: passwordHash });
    } finally {
      await check.destroy();
    }
  }, 600_000);
});
