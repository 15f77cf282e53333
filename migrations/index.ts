/**
 * The sidecar's migrations, listed explicitly (no directory scan) so they run the same from
 * TypeScript sources and from the compiled dist/. Knex records them in
 * google_integration_sidecar.knex_migrations.
 */
import type { Knex } from 'knex';
import * as standaloneCredentialsTable from './20261125_01_standalone_credentials_table.js';
import * as refreshBackoff from './20261125_02_refresh_backoff.js';
import * as credentialLease from './20261125_03_credential_lease.js';
import * as credentialChangeTrigger from './20261125_04_credential_change_trigger.js';
import * as keyCheck from './20261125_05_key_check.js';
import * as credentialsOwner from './20261126_01_credentials_owner.js';
import * as calendarSync from './20261126_02_calendar_sync.js';
import * as jobRunner from './20261202_01_job_runner.js';
import * as calendarFullPull from './20261202_02_calendar_full_pull.js';
import * as skippedEvent from './20261202_03_skipped_event.js';
import * as eventLinkBase from './20261203_01_event_link_base.js';
import * as watchChannel from './20261203_02_watch_channel.js';
import * as pacerSlot from './20261203_03_pacer_slot.js';
import * as credentialsListChannel from './20261203_04_credentials_list_channel.js';
import * as credentialsContacts from './20261203_05_credentials_contacts.js';
import * as contactsSync from './20261203_10_contacts_sync.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ['20261125_01_standalone_credentials_table', standaloneCredentialsTable],
  ['20261125_02_refresh_backoff', refreshBackoff],
  ['20261125_03_credential_lease', credentialLease],
  ['20261125_04_credential_change_trigger', credentialChangeTrigger],
  ['20261125_05_key_check', keyCheck],
  ['20261126_01_credentials_owner', credentialsOwner],
  ['20261126_02_calendar_sync', calendarSync],
  ['20261202_01_job_runner', jobRunner],
  ['20261202_02_calendar_full_pull', calendarFullPull],
  ['20261202_03_skipped_event', skippedEvent],
  ['20261203_01_event_link_base', eventLinkBase],
  ['20261203_02_watch_channel', watchChannel],
  ['20261203_03_pacer_slot', pacerSlot],
  ['20261203_04_credentials_list_channel', credentialsListChannel],
  ['20261203_05_credentials_contacts', credentialsContacts],
  ['20261203_10_contacts_sync', contactsSync],
];
