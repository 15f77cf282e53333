/**
 * What the calendar sections (6 and 7) share: calendars made at the emulator as their owner would, the
 * calls that reached the emulator's Calendar API, row versions of tables (to see any write), and the CPU
 * the processes under test and their database backends used.
 */
import type pg from 'pg';
import { cpuMs } from './children.js';
import { fmt } from './load.js';
import type { Emulator } from './stack.js';

/** The Google account authorizedCredentials consents as (test/support/consent.ts). */
export const ACCOUNT = 'calendar.owner@example.com';

export async function createCalendar(
  emulator: Emulator,
  id: string,
  summary: string,
  timeZone: string,
): Promise<void> {
  await emulator.control(`/calendar/accounts/${encodeURIComponent(ACCOUNT)}/calendars`, {
    id,
    summary,
    timeZone,
  });
}

/** The emulator's Calendar API calls so far, by operation (`events.list`, `events.insert`, ...). */
export async function calendarStats(emulator: Emulator): Promise<Record<string, number>> {
  const stats = (await emulator.control('/stats')) as { calendar?: number | Record<string, number> };
  const calendar = stats.calendar ?? 0;
  return typeof calendar === 'number' ? { all: calendar } : calendar;
}

/** Calls that reached the emulator's Calendar API, all operations. */
export async function calendarCalls(emulator: Emulator): Promise<number> {
  return Object.values(await calendarStats(emulator)).reduce((sum, value) => sum + value, 0);
}

/** Each row version (ctid:xmin) of `tables`: an INSERT adds one, a DELETE removes one, an UPDATE both. */
export async function rowVersions(
  db: pg.Client,
  tables: readonly string[],
): Promise<Map<string, Set<string>>> {
  const versions = new Map<string, Set<string>>();
  for (const table of tables) {
    const result = await db.query(`SELECT ctid::text || ':' || xmin::text AS v FROM ${table}`);
    versions.set(table, new Set(result.rows.map((row) => row.v as string)));
  }
  return versions;
}

export function versionDiff(
  before: Map<string, Set<string>>,
  after: Map<string, Set<string>>,
  tables: readonly string[],
): { written: number; removed: number } {
  let written = 0;
  let removed = 0;
  for (const table of tables) {
    const was = before.get(table) ?? new Set();
    const is = after.get(table) ?? new Set();
    for (const version of is) if (!was.has(version)) written++;
    for (const version of was) if (!is.has(version)) removed++;
  }
  return { written, removed };
}

export interface Cpu {
  /** CPU ms of each process, by name, in the order given to cpuMeter. */
  readonly processes: ReadonlyArray<readonly [string, number]>;
  /** CPU ms of the database's backends (every connection to it but the bench's own). */
  readonly database: number;
}

/**
 * Starts counting the CPU that `processes` (name -> pid) and the backends of `database` (by
 * pg_stat_activity, the bench's own connection `db` excepted) use; the returned function reads it.
 */
export async function cpuMeter(
  db: pg.Client,
  database: string,
  processes: Readonly<Record<string, number>>,
): Promise<() => Promise<Cpu>> {
  const start = Object.entries(processes).map(([name, pid]) => [name, pid, cpuMs(pid)] as const);
  const backends = await backendCpu(db, database);
  return async () => {
    let total = 0;
    for (const [pid, ms] of await backendCpu(db, database)) total += ms - (backends.get(pid) ?? 0);
    return {
      processes: start.map(([name, pid, ms]) => [name, cpuMs(pid) - ms] as const),
      database: total,
    };
  };
}

async function backendCpu(db: pg.Client, database: string): Promise<Map<string, number>> {
  const result = await db.query(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  const cpu = new Map<string, number>();
  for (const { pid } of result.rows as Array<{ pid: string }>) {
    try {
      cpu.set(pid, cpuMs(Number(pid)));
    } catch {
      // Gone in between.
    }
  }
  return cpu;
}

/** `sidecar 1,234 ms, database backends 567 ms, emulator 89 ms` (the first process, then the rest). */
export function describeCpu(cpu: Cpu): string {
  const [first, ...rest] = cpu.processes.map(([name, ms]) => `${name} ${fmt(ms)} ms`);
  return [first, `database backends ${fmt(cpu.database)} ms`, ...rest].join(', ');
}
