/**
 * The token cache's own bookkeeping, with a feed driven by the test (the real feed on PostgreSQL is
 * exercised in test/oauth/token-cache.test.ts): a read that overlapped a change of its credential
 * (or a reset) is not kept, concurrent reads share one, nothing is used while the feed is down, and
 * a writer's wait ends when its change comes back.
 */
import { describe, expect, it, vi } from 'vitest';
import type { CredentialRef } from '../../src/credentials/context.js';
import { TokenCache } from '../../src/credentials/token-cache.js';
import type { ChangeHandlers, CredentialChangeFeed } from '../../src/db/credential-changes.js';
import type { CredentialRow } from '../../src/db/credentials-repository.js';

class DrivenFeed {
  live = true;
  handlers: ChangeHandlers | undefined;
  async start() {}
  async close() {}
}

function setup() {
  const feed = new DrivenFeed();
  const cache = new TokenCache((_database, handlers) => {
    feed.handlers = handlers;
    return feed as unknown as CredentialChangeFeed;
  });
  const ref = { database: 'db', db: undefined, id: 7 } as unknown as CredentialRef;
  return { feed, cache, ref };
}

const row = (state: string) => ({ id: 7, state }) as unknown as CredentialRow;

describe('TokenCache', () => {
  it('keeps a read and answers from it until a change', async () => {
    const { feed, cache, ref } = setup();
    let reads = 0;
    const read = async () => {
      reads++;
      return row('authorized');
    };
    await cache.get(ref, read);
    await cache.get(ref, read);
    expect(reads).toBe(1);
    feed.handlers?.onChange(7);
    await cache.get(ref, read);
    expect(reads).toBe(2);
  });

  it('does not keep a read that a change overlapped', async () => {
    const { feed, cache, ref } = setup();
    let release: (value: CredentialRow) => void = () => {};
    const slow = cache.get(ref, () => new Promise((resolve) => (release = resolve)));
    feed.handlers?.onChange(7);
    release(row('authorized'));
    expect((await slow)?.row.state).toBe('authorized');
    // The row read before the change committed must not be served after it.
    expect((await cache.get(ref, async () => row('without_authorization')))?.row.state).toBe(
      'without_authorization',
    );
  });

  it("keeps a read that only another credential's change overlapped, not one a reset overlapped", async () => {
    const { feed, cache, ref } = setup();
    let reads = 0;
    let release: (value: CredentialRow) => void = () => {};
    const slow = () => {
      reads++;
      return new Promise<CredentialRow>((resolve) => (release = resolve));
    };
    const overlapped = cache.get(ref, slow);
    feed.handlers?.onChange(8);
    release(row('authorized'));
    await overlapped;
    await cache.get(ref, slow);
    expect(reads).toBe(1);

    feed.handlers?.onChange(7);
    const spoiled = cache.get(ref, slow);
    feed.handlers?.onReset();
    release(row('authorized'));
    await spoiled;
    const again = cache.get(ref, slow);
    release(row('authorized'));
    await again;
    expect(reads).toBe(3);
  });

  it('shares concurrent reads, but not across a change', async () => {
    const { feed, cache, ref } = setup();
    const releases: Array<() => void> = [];
    const read = () =>
      new Promise<CredentialRow>((resolve) => {
        releases.push(() => resolve(row('authorized')));
      });
    const first = cache.get(ref, read);
    const second = cache.get(ref, read);
    expect(releases.length).toBe(1);
    feed.handlers?.onChange(7);
    const third = cache.get(ref, read);
    expect(releases.length).toBe(2);
    for (const release of releases) release();
    await Promise.all([first, second, third]);
  });

  it('reads every time while the feed is down', async () => {
    const { feed, cache, ref } = setup();
    let reads = 0;
    const read = async () => {
      reads++;
      return row('authorized');
    };
    await cache.get(ref, read);
    feed.live = false;
    feed.handlers?.onReset();
    await cache.get(ref, read);
    await cache.get(ref, read);
    expect(reads).toBe(3);
  });

  it("ends a writer's wait when its change comes back, or after a second", async () => {
    // The wait's bound is a timer: the test moves the clock instead of spending the second.
    vi.useFakeTimers();
    try {
      const { feed, cache, ref } = setup();
      const ended = (wait: Promise<void>) => {
        const state = { ended: false };
        void wait.then(() => (state.ended = true));
        return state;
      };
      const seen = ended(cache.expectChange(ref)());
      await vi.advanceTimersByTimeAsync(20);
      expect(seen.ended).toBe(false);
      feed.handlers?.onChange(7);
      // Its change came back: the wait ends then, not when the second is up.
      await vi.advanceTimersByTimeAsync(0);
      expect(seen.ended).toBe(true);
      const unseen = ended(cache.expectChange(ref)());
      await vi.advanceTimersByTimeAsync(999);
      expect(unseen.ended).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(unseen.ended).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
