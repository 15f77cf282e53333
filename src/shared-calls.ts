/**
 * Concurrent callers asking for the same thing share one promise (single flight): 50 callers of
 * one credential in this process make one refresh. Across processes, leases do the same
 * (db/lease-repository.ts).
 */
export class SharedCalls<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  run<T extends V>(key: K, call: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running as Promise<T>;
    const started = call().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  has(key: K): boolean {
    return this.inFlight.has(key);
  }

  get size(): number {
    return this.inFlight.size;
  }
}
