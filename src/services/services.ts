/**
 * The services the sidecar runs, as typed fields (docs/contracts.md, "Services of a credential"):
 * callers reach `services.calendar` or `services.contacts`, never a name and a cast.
 */
import type { CredentialRef } from '../credentials/context.js';
import type { Logger } from '../log.js';
import { GoogleCalendarService } from './calendar/calendar-service.js';
import { GoogleContactsService } from './contacts/contacts-service.js';
import type { GoogleService, ServiceContext } from './google-service.js';

export class Services {
  readonly calendar: GoogleCalendarService;
  readonly contacts: GoogleContactsService;

  constructor(context: ServiceContext) {
    this.calendar = new GoogleCalendarService(context);
    this.contacts = new GoogleContactsService(context);
  }

  all(): readonly GoogleService<never, unknown>[] {
    return [this.calendar, this.contacts];
  }

  /** Tells every service that a credential stopped handing out tokens; a failure is only logged. */
  async credentialChanged(ref: CredentialRef, log: Logger): Promise<void> {
    for (const service of this.all()) {
      await service
        .credentialChanged(ref)
        .catch((error: Error) =>
          log.warn({ service: service.name, err: error.message }, 'could not follow the credential change'),
        );
    }
  }
}
