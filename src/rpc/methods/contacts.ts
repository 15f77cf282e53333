/** The `contacts.*` methods: one round of the contacts service on the credential the params name. */
import { z } from 'zod';
import { defineMethod } from '../method.js';
import { credentialParams } from '../params.js';
import { ACCESS_TOKEN_ERRORS } from './credentials.js';

export const contactsSync = defineMethod({
  name: 'contacts.sync',
  summary:
    "One round now of the credential's contacts: Google's changes into Tryton's parties, Tryton's to Google",
  params: credentialParams,
  result: z.object({
    created: z.number().describe('parties created in Tryton'),
    updated: z.number().describe('parties changed in Tryton'),
    archived: z.number().describe('parties archived in Tryton (deleted at Google)'),
    pushed: z.number().describe('contacts created or changed at Google'),
    deleted: z.number().describe('contacts deleted at Google'),
    conflicts: z.number(),
    held: z.number().describe('deletions the guard held: the credential asks an admin'),
  }),
  errors: [...ACCESS_TOKEN_ERRORS, 'service_not_enabled', 'tryton_unreachable', 'module_not_ready'],
  handler: async (params, context) =>
    context.services.contacts.run(
      {
        database: params.database,
        db: await context.databases.open(params.database),
        id: params.credential_id,
      },
      { waitIfBusy: true },
    ),
});
