/**
 * Documented errors only (docs/contracts.md, "Errors"): the calendar methods on a database where the
 * module's calendar tables are not there (the sidecar migrated it before google_integration was
 * activated) answer -32013 module_not_ready saying what to run, before asking Google anything; a
 * table or column of the module missing anywhere else is module_not_ready too, and any other
 * refusal of PostgreSQL database_unavailable: never -32603. Real sidecar, emulator and PostgreSQL.
 */
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseOutages } from '../../src/db/unavailable.js';
import { ErrorType } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from '../support/postgres.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

const errorLines = (logs: string) => logs.split('\n').filter((line) => /"level":(50|60)/.test(line));

describe('the calendar methods on a database without the module calendar tables', () => {
  let stack: Stack;
  let id: number;

  beforeAll(async () => {
    // The standalone template: the sidecar's migrations (and so the credentials table), no module.
    stack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '3600' } });
    id = await stack.authorizedCredential('standalone@example.com');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it.each([
    ['calendar.list_calendars', {}],
    ['calendar.sync', {}],
    ['calendar.sync', { calendar_id: 1 }],
  ])(
    '%s %j answers -32013 module_not_ready, saying what to run, without calling the Calendar API',
    async (method, extra) => {
      const before = (await stack.control('/stats')).calendar;
      const answer = await stack.rpc(method, { credential_id: id, ...extra });
      expect(answer.error?.code).toBe(-32013);
      expect(answer.error?.data).toEqual({
        type: 'module_not_ready',
        database: stack.database,
        service: 'calendar',
        missing: [
          'google_integration_calendar',
          'google_integration_calendar_member',
          'google_integration_event',
          'google_integration_event_detail',
          'google_integration_event_tombstone',
          'google_integration_event_conflict',
        ],
      });
      expect(answer.error?.message).toContain(`trytond-admin -d ${stack.database} -u google_integration`);
      expect((await stack.control('/stats')).calendar).toEqual(before);
      // The credential itself is fine: nothing was recorded on it.
      expect((await stack.row(id)).state).toBe('authorized');
      expect(errorLines(stack.logs())).toEqual([]);
    },
  );
});

describe('refusals of PostgreSQL the calendar code does not classify', () => {
  let stack: Stack;
  let id: number;

  beforeAll(async () => {
    stack = await startStack({ template: await trytonTemplate(), env: { SIDECAR_REFRESH_INTERVAL: '3600' } });
    id = await stack.authorizedCredential('refused@example.com');
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a statement PostgreSQL refuses (a constraint the sidecar does not know) answers -32006, logged without values', async () => {
    await stack.db.raw(
      'ALTER TABLE google_integration_calendar ADD CONSTRAINT gi_test_refuse CHECK (false) NOT VALID',
    );
    try {
      const answer = await stack.rpc('calendar.list_calendars', { credential_id: id });
      expect(answer.error?.code).toBe(-32006);
      expect(answer.error?.data).toEqual({ type: 'database_unavailable', database: stack.database });
      expect(answer.error?.message).toContain('SQLSTATE 23514');
      // The log line leaves the sidecar before its answer, but through another pipe.
      const refusedLines = async () =>
        stack
          .logs()
          .split('\n')
          .filter((line) => line.includes('database refused a statement'));
      const logged = await until(refusedLines, (found) => found.length > 0, { what: 'the refusal logged' });
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('"constraint":"gi_test_refuse"');
      // Knex puts the statement and its values in the error's message: none of it is logged.
      expect(stack.logs()).not.toContain('refused@example.com');
      expect(stack.logs()).not.toContain('INSERT INTO');
    } finally {
      await stack.db.raw('ALTER TABLE google_integration_calendar DROP CONSTRAINT gi_test_refuse');
    }
    expect(
      (await stack.rpc('calendar.list_calendars', { credential_id: id })).result?.calendars,
    ).toHaveLength(1);
  });

  it('a column of the module missing (a module older than the sidecar) answers -32013', async () => {
    await stack.db.raw('ALTER TABLE google_integration_calendar DROP COLUMN notify_attendees');
    const answer = await stack.rpc('calendar.sync', { credential_id: id });
    expect(answer.error?.code).toBe(-32013);
    expect(answer.error?.data).toEqual({ type: 'module_not_ready', database: stack.database });
    expect(answer.error?.message).toMatch(/column \S*notify_attendees\S* does not exist/);
    expect(answer.error?.message).toContain(`trytond-admin -d ${stack.database} -u google_integration`);
    expect(errorLines(stack.logs()).filter((line) => !line.includes('database refused a statement'))).toEqual(
      [],
    );
  });
});

describe('DatabaseOutages.convert on what PostgreSQL answers', () => {
  let database: string;
  let db: Knex;
  let lines: string[];
  let outages: DatabaseOutages;

  beforeAll(async () => {
    database = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_refusals');
    db = connect(database);
    lines = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    outages = new DatabaseOutages(createLogger('info', destination));
  });

  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(database);
  });

  const refusal = (sql: string) =>
    db.raw(sql).then(
      () => {
        throw new Error(`${sql} succeeded`);
      },
      (error: unknown) => error,
    );

  it("a module's table missing is module_not_ready, once logged per window", async () => {
    for (let round = 0; round < 3; round++) {
      const error = outages.convert(
        await refusal('SELECT * FROM google_integration_party_contact'),
        database,
      );
      expect(error?.type).toBe(ErrorType.ModuleNotReady);
      expect(error?.message).toContain('relation "google_integration_party_contact" does not exist');
      expect(error?.message).toContain('-u party google_integration');
    }
    expect(lines.filter((line) => line.includes('module tables missing'))).toHaveLength(1);
  });

  it("a table of the sidecar's own schemas missing is not the module's: database_unavailable", async () => {
    const error = outages.convert(
      await refusal('SELECT * FROM google_integration_sidecar.nothing_here'),
      database,
    );
    expect(error?.type).toBe(ErrorType.DatabaseUnavailable);
    expect(error?.message).toContain('SQLSTATE 42P01');
  });

  it('a value PostgreSQL refuses is database_unavailable, logged as an error without the value', async () => {
    const error = outages.convert(await refusal("SELECT 'secret-looking-value'::integer"), database);
    expect(error?.type).toBe(ErrorType.DatabaseUnavailable);
    expect(error?.message).toContain('SQLSTATE 22P02');
    const logged = lines.filter((line) => line.includes('"sqlstate":"22P02"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('"level":50');
    expect(logged[0]).toContain('database refused a statement');
    expect(lines.join('\n')).not.toContain('secret-looking-value');
  });

  it('anything else is not a database error', () => {
    expect(
      outages.convert(new Error('relation "google_integration_calendar" does not exist'), database),
    ).toBe(undefined);
  });
});
