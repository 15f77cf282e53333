/** The `calendar.*` methods: one run of the calendar service on the credential the params name. */
import { z } from 'zod';
import type { CredentialRef } from '../../credentials/context.js';
import type { CalendarInput, CalendarOutput } from '../../services/calendar/calendar-service.js';
import type { RpcContext } from '../context.js';
import { defineMethod } from '../method.js';
import { credentialId, credentialParams } from '../params.js';
import { ACCESS_TOKEN_ERRORS } from './credentials.js';

async function runCalendar(
  params: { database: string; credential_id: number },
  context: RpcContext,
  input: CalendarInput,
): Promise<CalendarOutput> {
  const ref: CredentialRef = {
    database: params.database,
    db: await context.databases.open(params.database),
    id: params.credential_id,
  };
  return context.services.calendar.run(ref, input);
}

export const calendarListCalendars = defineMethod({
  name: 'calendar.list_calendars',
  summary: "Bring the account's calendarList into Tryton's calendars (new ones added, gone ones inactive)",
  params: credentialParams,
  result: z.object({
    calendars: z.array(
      z.object({
        id: z.number(),
        google_id: z.string(),
        name: z.string().nullable(),
        sync_enabled: z.boolean(),
      }),
    ),
  }),
  errors: [...ACCESS_TOKEN_ERRORS, 'service_not_enabled', 'module_not_ready'],
  handler: (params, context) => runCalendar(params, context, { kind: 'list' }),
});

export const calendarSync = defineMethod({
  name: 'calendar.sync',
  summary: 'Pull now the events of every enabled calendar of the credential (or of one calendar)',
  params: credentialParams.extend({
    calendar_id: credentialId.optional().describe('id of one google_integration.calendar to pull'),
  }),
  result: z.object({
    calendars: z.number(),
    created: z.number(),
    updated: z.number(),
    deleted: z.number(),
    skipped: z
      .number()
      .describe("items Google sent that the pull could not take (see the calendar's notice)"),
    pushed: z.number(),
    conflicts: z.number(),
  }),
  errors: [...ACCESS_TOKEN_ERRORS, 'service_not_enabled', 'module_not_ready'],
  handler: (params, context) =>
    runCalendar(params, context, {
      kind: 'sync',
      waitIfBusy: true,
      ...(params.calendar_id === undefined ? {} : { calendarId: params.calendar_id }),
    }),
});
