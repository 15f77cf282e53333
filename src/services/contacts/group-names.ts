/**
 * The account's user contact groups by name (Tryton's categories by full name): read at each full
 * listing and when a contact names a group not known, kept in `contact_group`, and created at Google
 * when Tryton has a category Google has no group for (a name taken already answers 409: read again).
 */
import type { people_v1 } from '@googleapis/people';
import { contactGroups, storeContactGroups } from '../../db/contact-repository.js';
import type { Db } from '../../db/handle.js';
import type { PeopleApi } from './people-api.js';

/** Google's system groups: not synchronized, never "unknown". */
const SYSTEM_GROUPS = new Set(
  ['myContacts', 'starred', 'all', 'friends', 'family', 'coworkers', 'chatBuddies', 'blocked'].map(
    (id) => `contactGroups/${id}`,
  ),
);

export class GroupNames {
  constructor(
    private readonly api: PeopleApi,
    private readonly db: Db,
    private readonly credentialId: number,
    /** resourceName → name. */
    public names: Map<string, string>,
  ) {}

  /** Whether a listed contact belongs to a user group this sidecar does not know the name of. */
  unknownIn(people: people_v1.Schema$Person[]): boolean {
    return people.some((person) =>
      (person.memberships ?? []).some((membership) => {
        const group = membership.contactGroupMembership?.contactGroupResourceName ?? '';
        return group !== '' && !SYSTEM_GROUPS.has(group) && !this.names.has(group);
      }),
    );
  }

  async refresh(): Promise<void> {
    const groups = await this.api.groups();
    await storeContactGroups(this.db, this.credentialId, groups);
    this.names = await contactGroups(this.db, this.credentialId);
  }

  /** The resourceName of the group called `name`, created at Google when missing. */
  async ensure(name: string): Promise<string> {
    const known = this.idOf(name);
    if (known) return known;
    const created = await this.api.createGroup(name);
    if (created !== 'exists' && created.resourceName) {
      this.names.set(created.resourceName, created.name);
      await storeContactGroups(
        this.db,
        this.credentialId,
        [...this.names].map(([resourceName, groupName]) => ({ resourceName, name: groupName })),
      );
      return created.resourceName;
    }
    await this.refresh();
    const found = this.idOf(name);
    if (!found) throw new Error(`Google has a contact group named "${name}" but does not list it`);
    return found;
  }

  idOf(name: string): string | undefined {
    for (const [resourceName, groupName] of this.names) if (groupName === name) return resourceName;
    return undefined;
  }
}
