/**
 * Every change of a credentials row, by the sidecar or by Tryton (an admin editing the client, a
 * deletion), is announced on the channel `google_integration_credential` with the row's id, at
 * commit. Replicas listen on it to drop what they cache of that credential (docs/contracts.md,
 * "Token cache"), so a revoke or a new authorization is seen by the next call on every replica.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE FUNCTION google_integration_sidecar.credential_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('google_integration_credential', OLD.id::text);
  RETURN NULL;
END
$$`);
  await knex.raw(`CREATE TRIGGER google_integration_sidecar_changed
AFTER UPDATE OR DELETE ON public.google_integration_google_credentials
FOR EACH ROW EXECUTE FUNCTION google_integration_sidecar.credential_changed()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(
    'DROP TRIGGER IF EXISTS google_integration_sidecar_changed ON public.google_integration_google_credentials',
  );
  await knex.raw('DROP FUNCTION google_integration_sidecar.credential_changed()');
}
