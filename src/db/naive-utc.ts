/**
 * Tryton's Timestamp columns hold UTC without a zone; pg would write a JavaScript Date in the
 * process's local time. Every Date the sidecar writes into Tryton's tables goes through here.
 */
export function naiveUtc(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** `values` with every Date written as naive UTC. */
export function withNaiveUtc(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, value instanceof Date ? naiveUtc(value) : value]),
  );
}
