/**
 * The credentials table gains the columns of the services and of the contacts synchronization
 * (docs/contracts.md, "Services of a credential" and "Contacts synchronization", *The credential's
 * columns*): `services` (a JSON list in a VARCHAR, as the module's MultiSelection stores it),
 * `contacts_scope`, `contacts_deletion_limit`, `contacts_allowed_deletions` (Tryton's) and
 * `contacts_status`, `contacts_last_sync`, `contacts_last_error`, `contacts_last_counts`,
 * `contacts_held_deletions` (the sidecar's). The types are those trytond 8.0 creates for the
 * module's fields, without SQL defaults (test/migrations/schema-parity.test.ts holds them equal).
 * Where Tryton's table already has a column, it is left alone. Rows that gain the columns here get
 * the module's defaults, as its own update gives rows made before them.
 */
import type { Knex } from 'knex';

const TABLE = 'google_integration_google_credentials';

const COLUMNS: ReadonlyArray<readonly [name: string, type: string, fill: string | number | null]> = [
  ['services', 'VARCHAR', '["calendar"]'],
  ['contacts_scope', 'VARCHAR', 'all'],
  ['contacts_deletion_limit', 'INTEGER', 20],
  ['contacts_allowed_deletions', 'INTEGER', 0],
  ['contacts_status', 'VARCHAR', 'none'],
  ['contacts_last_sync', 'TIMESTAMP(6)', null],
  ['contacts_last_error', 'TEXT', null],
  ['contacts_last_counts', 'TEXT', null],
  ['contacts_held_deletions', 'INTEGER', null],
];

export async function up(knex: Knex): Promise<void> {
  // Looked up first: ALTER TABLE takes the table's strongest lock even when the columns exist.
  const result = await knex.raw(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ?`,
    [TABLE],
  );
  const present = new Set((result.rows as Array<{ column_name: string }>).map((row) => row.column_name));
  const missing = COLUMNS.filter(([name]) => !present.has(name));
  if (missing.length === 0) return;
  await knex.raw(
    `ALTER TABLE public."${TABLE}" ${missing.map(([name, type]) => `ADD COLUMN IF NOT EXISTS "${name}" ${type}`).join(', ')}`,
  );
  for (const [name, , fill] of missing) {
    if (fill === null) continue;
    await knex.raw(`UPDATE public."${TABLE}" SET "${name}" = ? WHERE "${name}" IS NULL`, [fill]);
  }
}

// Never dropped: the columns may be Tryton's.
export async function down(): Promise<void> {}
