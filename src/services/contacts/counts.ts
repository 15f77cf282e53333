/** What a contacts round did (docs/contracts.md, `contacts.sync`), as the round and its writes count it. */
export interface ContactsCounts {
  created: number;
  updated: number;
  archived: number;
  pushed: number;
  deleted: number;
  conflicts: number;
  held: number;
}

/** The counts of a round that changed nothing. */
export function noChanges(): ContactsCounts {
  return { created: 0, updated: 0, archived: 0, pushed: 0, deleted: 0, conflicts: 0, held: 0 };
}
