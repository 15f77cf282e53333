import { credentialStatus } from '../../credentials/status.js';
import { defineMethod } from '../method.js';
import { credentialParams } from '../params.js';

export const credentialsStatus = defineMethod({
  name: 'credentials.status',
  summary: 'State, token expiry, account, granted scopes, last error and last sync of a credential',
  params: credentialParams,
  handler: async ({ database, credential_id }, { databases }) =>
    credentialStatus(await databases.open(database), credential_id),
});
