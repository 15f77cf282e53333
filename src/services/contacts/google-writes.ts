/**
 * Google's side of a contacts round (docs/contracts.md, "Contacts synchronization", *A round*, step
 * 6): creations, changes and deletions gathered while deciding, then sent one call after another
 * (mutations of one account are never concurrent) through the batch calls within Google's limits.
 * A batch change refused for a stale etag is done contact by contact: read, merge, change with the
 * fresh etag (up to 3 times). Group membership changes go through contactGroups.members.modify, so a
 * contact's system groups (starred, myContacts) are never touched.
 */
import type { people_v1 } from '@googleapis/people';
import type { LinkWrite, RoundWrites } from '../../db/contact-repository.js';
import { type ContactValues, contactHash } from './contact-values.js';
import { decideContact } from './decide-contact.js';
import type { GroupNames } from './group-names.js';
import { BATCH_CREATE, BATCH_DELETE, BATCH_GET, BATCH_UPDATE, type PeopleApi } from './people-api.js';
import { changedAt, newPerson, valuesOfPerson } from './person-mapping.js';
import { changedPerson } from './person-merge.js';
import type { ContactsCounts } from './counts.js';

/** What settles once Google took a contact: its party, the change pushed, the new base. */
export interface Settle {
  readonly party_id: number;
  readonly local_write: string | null;
  base: ContactValues;
}

interface Update {
  readonly resourceName: string;
  readonly etag: string | null;
  readonly values: ContactValues;
  /** The groups Google holds (or last agreed on): memberships change by difference. */
  readonly groupsBefore: readonly string[];
  readonly settle: Settle;
  /** The contact as Google holds it: from the listing, else read before the change (person-merge.ts). */
  held: people_v1.Schema$Person | undefined;
}

const STALE_TRIES = 3;
const MEMBERS_PER_CALL = 1000;

export class GoogleWrites {
  private readonly creates: Array<{ values: ContactValues; settle: Settle; partyId: number }> = [];
  private readonly updates = new Map<string, Update>();
  private deletes: Array<{ resourceName: string; done: () => void; tryton: boolean }> = [];

  constructor(
    private readonly api: PeopleApi,
    private readonly groups: GroupNames,
    private readonly database: string,
    private readonly writes: { links: LinkWrite[]; synced: RoundWrites['synced'] },
    private readonly counts: ContactsCounts,
  ) {}

  create(partyId: number, values: ContactValues, settle: Settle): void {
    this.creates.push({ partyId, values, settle });
  }

  update(
    resourceName: string,
    etag: string | null,
    values: ContactValues,
    groupsBefore: readonly string[],
    settle: Settle,
    held?: people_v1.Schema$Person,
  ): void {
    this.updates.set(resourceName, { resourceName, etag, values, groupsBefore, settle, held });
  }

  /** The base of a change once Tryton read back what it stored. */
  rebase(resourceName: string, base: ContactValues): void {
    const update = this.updates.get(resourceName);
    if (update) update.settle.base = base;
  }

  delete(resourceName: string, done: () => void, tryton = false): void {
    this.deletes.push({ resourceName, done, tryton });
  }

  deletions(): number {
    return this.deletes.length;
  }

  dropDeletions(): void {
    this.deletes = [];
  }

  async flush(): Promise<void> {
    await this.flushCreates();
    await this.flushUpdates();
    for (let start = 0; start < this.deletes.length; start += BATCH_DELETE) {
      const batch = this.deletes.slice(start, start + BATCH_DELETE);
      await this.api.batchDelete(batch.map((item) => item.resourceName));
      for (const item of batch) {
        item.done();
        this.counts.deleted++;
      }
    }
  }

  private async flushCreates(): Promise<void> {
    const names = new Set(this.creates.flatMap((create) => create.values.groups));
    const ids = new Map<string, string>();
    for (const name of names) ids.set(name, await this.groups.ensure(name));
    for (let start = 0; start < this.creates.length; start += BATCH_CREATE) {
      const batch = this.creates.slice(start, start + BATCH_CREATE);
      const created = await this.api.batchCreate(
        batch.map((create) => newPerson(create.values, `${this.database}:${create.partyId}`, ids)),
      );
      batch.forEach((create, index) => {
        const person = created[index];
        if (person?.resourceName) this.settle(person, create.values.groups, create.settle);
      });
    }
  }

  private async flushUpdates(): Promise<void> {
    const updates = [...this.updates.values()];
    await this.readHeld(updates);
    for (let start = 0; start < updates.length; start += BATCH_UPDATE) {
      const batch = updates.slice(start, start + BATCH_UPDATE);
      const outcome = await this.api.batchUpdate(
        new Map(
          batch.map((update) => [update.resourceName, personOf(update.held, update.values, update.etag)]),
        ),
      );
      if (outcome.kind === 'ok') {
        for (const update of batch) {
          const person = outcome.people.get(update.resourceName);
          if (person) this.settle(person, update.values.groups, update.settle);
        }
      } else {
        for (const update of batch) await this.updateOne(update);
      }
    }
    await this.modifyGroups(updates);
  }

  /**
   * The contacts changed from Tryton alone, read as Google holds them (200 a call), so that their
   * change keeps what Tryton does not. One Google no longer has keeps none: its change answers for it.
   * The change still carries the link's etag: a contact Google changed since is refused as stale
   * and merged (updateOne).
   */
  private async readHeld(updates: Update[]): Promise<void> {
    const unread = updates.filter((update) => update.held === undefined);
    for (let start = 0; start < unread.length; start += BATCH_GET) {
      const batch = unread.slice(start, start + BATCH_GET);
      const held = await this.api.batchGet(batch.map((update) => update.resourceName));
      for (const update of batch) update.held = held.get(update.resourceName);
    }
  }

  /** One contact whose etag went stale: read it, merge, send again with the fresh etag. */
  private async updateOne(update: Update): Promise<void> {
    let etag = update.etag;
    let values = update.values;
    let held = update.held;
    for (let attempt = 0; attempt < STALE_TRIES; attempt++) {
      const answer = await this.api.update(update.resourceName, personOf(held, values, etag));
      if (answer === 'gone') return;
      if (answer !== 'stale') {
        this.settle(answer, values.groups, { ...update.settle, base: values });
        return;
      }
      const fresh = await this.api.get(update.resourceName);
      if (!fresh) return;
      held = fresh;
      etag = fresh.etag ?? null;
      const decision = decideContact({
        base: update.settle.base === values ? null : update.settle.base,
        local: { kind: 'present', values, pending: true, changedAt: null },
        remote: {
          kind: 'present',
          values: valuesOfPerson(fresh, this.groups.names),
          changedAt: changedAt(fresh),
        },
      });
      if (decision.action !== 'write-google') {
        this.settle(fresh, valuesOfPerson(fresh, this.groups.names).groups, {
          ...update.settle,
          base: values,
        });
        return;
      }
      values = decision.values;
    }
    throw new Error(`contact ${update.resourceName} kept changing at Google while it was being updated`);
  }

  private async modifyGroups(updates: Update[]): Promise<void> {
    const changes = new Map<string, { add: string[]; remove: string[] }>();
    for (const update of updates) {
      const before = new Set(update.groupsBefore);
      const after = new Set(update.values.groups);
      for (const name of after) if (!before.has(name)) entry(changes, name).add.push(update.resourceName);
      for (const name of before) if (!after.has(name)) entry(changes, name).remove.push(update.resourceName);
    }
    for (const [name, { add, remove }] of changes) {
      const group = add.length > 0 ? await this.groups.ensure(name) : this.groups.idOf(name);
      if (!group) continue;
      const all = [
        ...add.map((resourceName) => ({ resourceName, add: true })),
        ...remove.map((resourceName) => ({ resourceName, add: false })),
      ];
      for (let start = 0; start < all.length; start += MEMBERS_PER_CALL) {
        const part = all.slice(start, start + MEMBERS_PER_CALL);
        await this.api.modifyMembers(
          group,
          part.filter((member) => member.add).map((member) => member.resourceName),
          part.filter((member) => !member.add).map((member) => member.resourceName),
        );
      }
    }
  }

  /** Google took the contact: its link (the hash of what Google now holds) and Tryton's row. */
  private settle(person: people_v1.Schema$Person, groups: readonly string[], settle: Settle): void {
    const resourceName = person.resourceName as string;
    const held = { ...valuesOfPerson(person, this.groups.names), groups: [...groups] };
    this.writes.links.push({
      resource_name: resourceName,
      party_id: settle.party_id,
      etag: person.etag ?? null,
      hash: contactHash(held),
      base: settle.base,
      written_at: new Date(),
    });
    this.writes.synced.push({
      party_id: settle.party_id,
      resource_name: resourceName,
      local_write: settle.local_write,
    });
    this.counts.pushed++;
  }
}

/** The change sent for a contact: `values` over what Google holds, with the etag it is made against. */
function personOf(
  held: people_v1.Schema$Person | undefined,
  values: ContactValues,
  etag: string | null,
): people_v1.Schema$Person {
  return { ...changedPerson(held, values), ...(etag ? { etag } : {}) };
}

function entry(changes: Map<string, { add: string[]; remove: string[] }>, name: string) {
  let found = changes.get(name);
  if (!found) {
    found = { add: [], remove: [] };
    changes.set(name, found);
  }
  return found;
}
