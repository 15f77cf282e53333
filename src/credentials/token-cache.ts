/**
 * What this process remembers of the credentials it hands tokens out from, so that a valid token
 * costs no database round trip and no decryption (docs/contracts.md, "Token cache"). Correctness
 * never rests on this memory: an entry is used only while the database's change feed is live
 * (db/credential-changes.ts), every change of a row, by any replica or by Tryton, drops its entry
 * at commit, and a feed that drops out empties the database's entries. A read that overlapped a
 * change of its credential is not kept, so a change is seen on every replica once its notification is
 * in; the process that writes a row drops its entry at once (forget), and the replica that revokes
 * waits until its own feed has seen the change before it answers.
 */
import type { CredentialRow } from '../db/credentials-repository.js';
import type { ChangeHandlers, CredentialChangeFeed } from '../db/credential-changes.js';
import { SharedCalls } from '../shared-calls.js';
import type { CredentialRef } from './ref.js';

export interface CachedCredential {
  readonly row: CredentialRow;
  /**
   * The answer of get_access_token for this row (with the decrypted access token), filled by the
   * first caller that needs it; frozen, it is handed to every caller as it is.
   */
  answer?: Readonly<AccessTokenAnswer>;
}

/** The result of `credentials.get_access_token` (credentials/access-token.ts). */
export interface AccessTokenAnswer {
  readonly access_token: string;
  readonly token_expiry: string;
  readonly scopes: string[];
}

interface DatabaseCache {
  readonly feed: CredentialChangeFeed;
  readonly entries: Map<number, CachedCredential>;
  readonly waiters: Map<number, Set<() => void>>;
  /** Counts the changes heard; a read notes the count it began at. */
  changes: number;
  /**
   * The count at each credential's last change: a read of it begun before is not kept. Per
   * credential, so that in a refresh storm one credential's change does not spoil the reads of the
   * others (every call would go to the database until the storm is over).
   */
  readonly changedAt: Map<number, number>;
  /** Reads begun before this count are not kept at all (a reset, or changedAt pruned). */
  floor: number;
}

const MAX_ENTRIES_PER_DATABASE = 10_000;
/** How long a writer waits for its own change to come back through the feed. */
const CHANGE_ECHO_MS = 1_000;

export type FeedFactory = (database: string, handlers: ChangeHandlers) => CredentialChangeFeed;

export class TokenCache {
  private readonly databases = new Map<string, DatabaseCache>();
  private readonly reads = new SharedCalls<string, CredentialRow | undefined>();

  constructor(private readonly openFeed: FeedFactory) {}

  /** The credential's row, from memory when it can be trusted, else from `read` (shared by concurrent callers). */
  async get(
    ref: CredentialRef,
    read: () => Promise<CredentialRow | undefined>,
  ): Promise<CachedCredential | undefined> {
    const cache = this.cacheOf(ref.database);
    if (cache.feed.live) {
      const hit = cache.entries.get(ref.id);
      if (hit) return hit;
    }
    const began = cache.changes;
    // Concurrent reads share one, but not across a change of the credential.
    const generation = Math.max(cache.floor, cache.changedAt.get(ref.id) ?? 0);
    const row = await this.reads.run(`${ref.database}\u0000${ref.id}\u0000${generation}`, async () => {
      const found = await read();
      if (found && cache.feed.live && unchangedSince(cache, ref.id, began)) this.keep(cache, found);
      return found;
    });
    return row ? (cache.entries.get(ref.id) ?? { row }) : undefined;
  }

  /**
   * Call before writing a credential row; the returned function waits (briefly) until this
   * process's feed has seen the write, so every replica's next call sees it too.
   */
  expectChange(ref: CredentialRef): () => Promise<void> {
    const cache = this.cacheOf(ref.database);
    if (!cache.feed.live) return async () => {};
    let resolve: () => void = () => {};
    const seen = new Promise<void>((done) => {
      resolve = done;
    });
    const waiters = cache.waiters.get(ref.id) ?? new Set();
    waiters.add(resolve);
    cache.waiters.set(ref.id, waiters);
    return async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([seen, new Promise((done) => (timer = setTimeout(done, CHANGE_ECHO_MS)))]);
      clearTimeout(timer);
      waiters.delete(resolve);
    };
  }

  /**
   * Drops what this process remembers of a row it has just written, at once: the feed brings the
   * change a moment later, and until then a caller here would be handed the token it replaced.
   */
  forget(ref: CredentialRef): void {
    const cache = this.databases.get(ref.database);
    if (cache) changed(cache, ref.id);
  }

  async close(): Promise<void> {
    const caches = [...this.databases.values()];
    this.databases.clear();
    await Promise.all(caches.map((cache) => cache.feed.close()));
  }

  private cacheOf(database: string): DatabaseCache {
    let cache = this.databases.get(database);
    if (!cache) {
      const entries = new Map<number, CachedCredential>();
      const waiters = new Map<number, Set<() => void>>();
      const created: DatabaseCache = {
        entries,
        waiters,
        changes: 0,
        changedAt: new Map(),
        floor: 0,
        feed: this.openFeed(database, {
          onChange: (id) => {
            changed(created, id);
            for (const resolve of waiters.get(id) ?? []) resolve();
            waiters.delete(id);
          },
          onReset: () => {
            created.changes++;
            created.floor = created.changes;
            created.changedAt.clear();
            entries.clear();
            for (const set of waiters.values()) for (const resolve of set) resolve();
            waiters.clear();
          },
        }),
      };
      cache = created;
      this.databases.set(database, cache);
      void cache.feed.start();
    }
    return cache;
  }

  private keep(cache: DatabaseCache, row: CredentialRow): void {
    if (cache.entries.size >= MAX_ENTRIES_PER_DATABASE) {
      // Maps keep insertion order: the oldest entry goes first.
      const oldest = cache.entries.keys().next().value;
      if (oldest !== undefined) cache.entries.delete(oldest);
    }
    cache.entries.set(row.id, { row });
  }
}

/** A change of one credential: its entry goes, and reads of it begun before are not kept. */
function changed(cache: DatabaseCache, id: number): void {
  cache.changes++;
  cache.entries.delete(id);
  if (cache.changedAt.size >= MAX_ENTRIES_PER_DATABASE) {
    // Bounded memory: forgetting which credentials changed means no read begun before now is kept.
    cache.changedAt.clear();
    cache.floor = cache.changes;
  } else {
    cache.changedAt.set(id, cache.changes);
  }
}

function unchangedSince(cache: DatabaseCache, id: number, began: number): boolean {
  return began >= cache.floor && (cache.changedAt.get(id) ?? 0) <= began;
}
