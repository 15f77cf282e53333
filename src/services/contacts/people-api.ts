/**
 * The People API calls of the contacts sync, on the official client @googleapis/people pointed at the
 * configured API root, every one through the session (paced, bounded in time, retried when
 * transient). Outcomes the round acts on come back typed instead of as errors to inspect: an expired
 * sync token (Google answers 400 FAILED_PRECONDITION / EXPIRED_SYNC_TOKEN, not 410) and a stale etag.
 */
import type { people_v1 } from '@googleapis/people';
import { GoogleError } from '../../google/errors.js';
import type { GoogleSession } from '../google-service.js';
import { PERSON_FIELDS, UPDATE_FIELDS } from './person-mapping.js';

/** Google's largest page of connections.list. */
const PAGE_SIZE = 1000;
/** Google's limits of the batch calls. */
export const BATCH_CREATE = 200;
export const BATCH_UPDATE = 200;
export const BATCH_DELETE = 500;
export const BATCH_GET = 200;
const GROUP_PAGE_SIZE = 1000;

export interface Listing {
  readonly people: people_v1.Schema$Person[];
  readonly nextSyncToken: string | null;
}

export type ListOutcome = { readonly kind: 'ok'; readonly listing: Listing } | { readonly kind: 'expired' };

export type BatchUpdateOutcome =
  | { readonly kind: 'ok'; readonly people: Map<string, people_v1.Schema$Person> }
  | { readonly kind: 'stale' };

export interface ContactGroup {
  readonly resourceName: string;
  readonly name: string;
}

export class PeopleApi {
  constructor(
    private readonly session: GoogleSession,
    private readonly api: people_v1.People,
  ) {}

  /** Every page of the account's contacts: incremental with `syncToken`, else a full listing. */
  async list(syncToken: string | null): Promise<ListOutcome> {
    const people: people_v1.Schema$Person[] = [];
    let pageToken: string | undefined;
    for (;;) {
      let page: people_v1.Schema$ListConnectionsResponse;
      try {
        page = await this.session.call(
          'people.connections.list',
          async (options) =>
            (
              await this.api.people.connections.list(
                {
                  resourceName: 'people/me',
                  personFields: PERSON_FIELDS,
                  sources: ['READ_SOURCE_TYPE_CONTACT'],
                  pageSize: PAGE_SIZE,
                  requestSyncToken: true,
                  ...(syncToken ? { syncToken } : {}),
                  ...(pageToken ? { pageToken } : {}),
                },
                options,
              )
            ).data,
        );
      } catch (error) {
        if (syncToken && isExpiredToken(error)) return { kind: 'expired' };
        throw error;
      }
      people.push(...(page.connections ?? []));
      pageToken = page.nextPageToken ?? undefined;
      if (!pageToken) return { kind: 'ok', listing: { people, nextSyncToken: page.nextSyncToken ?? null } };
    }
  }

  async get(resourceName: string): Promise<people_v1.Schema$Person | undefined> {
    try {
      return await this.session.call(
        'people.get',
        async (options) =>
          (await this.api.people.get({ resourceName, personFields: PERSON_FIELDS }, options)).data,
      );
    } catch (error) {
      if (error instanceof GoogleError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Up to 200 contacts as Google holds them, by resource name; one that no longer exists is absent. */
  async batchGet(resourceNames: readonly string[]): Promise<Map<string, people_v1.Schema$Person>> {
    const answer = await this.session.call(
      'people.getBatchGet',
      async (options) =>
        (
          await this.api.people.getBatchGet(
            { resourceNames: [...resourceNames], personFields: PERSON_FIELDS },
            options,
          )
        ).data,
    );
    const found = new Map<string, people_v1.Schema$Person>();
    for (const response of answer.responses ?? [])
      if (response.person && response.requestedResourceName)
        found.set(response.requestedResourceName, response.person);
    return found;
  }

  /** Creates up to 200 contacts; the answers in the order asked. */
  async batchCreate(people: people_v1.Schema$Person[]): Promise<people_v1.Schema$Person[]> {
    const answer = await this.session.call(
      'people.batchCreateContacts',
      async (options) =>
        (
          await this.api.people.batchCreateContacts(
            {
              requestBody: {
                contacts: people.map((contactPerson) => ({ contactPerson })),
                readMask: PERSON_FIELDS,
              },
            },
            options,
          )
        ).data,
    );
    return (answer.createdPeople ?? []).map((created) => created.person ?? {});
  }

  /** Changes up to 200 contacts, each carrying the etag it was read with. */
  async batchUpdate(people: Map<string, people_v1.Schema$Person>): Promise<BatchUpdateOutcome> {
    try {
      const answer = await this.session.call(
        'people.batchUpdateContacts',
        async (options) =>
          (
            await this.api.people.batchUpdateContacts(
              {
                requestBody: {
                  contacts: Object.fromEntries(people),
                  updateMask: UPDATE_FIELDS,
                  readMask: PERSON_FIELDS,
                },
              },
              options,
            )
          ).data,
      );
      const updated = new Map<string, people_v1.Schema$Person>();
      for (const [resourceName, result] of Object.entries(answer.updateResult ?? {}))
        if (result.person) updated.set(resourceName, result.person);
      return { kind: 'ok', people: updated };
    } catch (error) {
      if (isStaleEtag(error)) return { kind: 'stale' };
      throw error;
    }
  }

  /** One contact's change; `stale` when its etag is no longer Google's. */
  async update(
    resourceName: string,
    person: people_v1.Schema$Person,
  ): Promise<people_v1.Schema$Person | 'stale' | 'gone'> {
    try {
      return await this.session.call(
        'people.updateContact',
        async (options) =>
          (
            await this.api.people.updateContact(
              {
                resourceName,
                updatePersonFields: UPDATE_FIELDS,
                personFields: PERSON_FIELDS,
                requestBody: person,
              },
              options,
            )
          ).data,
      );
    } catch (error) {
      if (isStaleEtag(error)) return 'stale';
      if (error instanceof GoogleError && error.status === 404) return 'gone';
      throw error;
    }
  }

  async batchDelete(resourceNames: string[]): Promise<void> {
    await this.session.call('people.batchDeleteContacts', async (options) =>
      this.api.people.batchDeleteContacts({ requestBody: { resourceNames } }, options),
    );
  }

  /** The account's user contact groups (system groups are not synchronized). */
  async groups(): Promise<ContactGroup[]> {
    const groups: ContactGroup[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.session.call(
        'contactGroups.list',
        async (options) =>
          (
            await this.api.contactGroups.list(
              { pageSize: GROUP_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) },
              options,
            )
          ).data,
      );
      for (const group of page.contactGroups ?? [])
        if (group.groupType === 'USER_CONTACT_GROUP' && group.resourceName && group.name)
          groups.push({ resourceName: group.resourceName, name: group.name });
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return groups;
  }

  /** A new user group; `exists` when Google has one of that name already (409). */
  async createGroup(name: string): Promise<ContactGroup | 'exists'> {
    try {
      const group = await this.session.call(
        'contactGroups.create',
        async (options) =>
          (await this.api.contactGroups.create({ requestBody: { contactGroup: { name } } }, options)).data,
      );
      return { resourceName: group.resourceName ?? '', name: group.name ?? name };
    } catch (error) {
      if (error instanceof GoogleError && error.status === 409) return 'exists';
      throw error;
    }
  }

  /** Adds and removes contacts of one group (up to 1,000 in all). */
  async modifyMembers(group: string, add: string[], remove: string[]): Promise<void> {
    await this.session.call('contactGroups.members.modify', async (options) =>
      this.api.contactGroups.members.modify(
        {
          resourceName: group,
          requestBody: { resourceNamesToAdd: add, resourceNamesToRemove: remove },
        },
        options,
      ),
    );
  }
}

function isExpiredToken(error: unknown): boolean {
  return error instanceof GoogleError && error.status === 400 && error.reasons.includes('EXPIRED_SYNC_TOKEN');
}

function isStaleEtag(error: unknown): boolean {
  return (
    error instanceof GoogleError &&
    (error.status === 412 ||
      (error.status === 400 &&
        !error.reasons.includes('EXPIRED_SYNC_TOKEN') &&
        (error.code === 'FAILED_PRECONDITION' || error.reasons.includes('failedPrecondition'))))
  );
}
