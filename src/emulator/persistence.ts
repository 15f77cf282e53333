/**
 * The state file (`tryton-google emulator --state PATH`): the whole emulated Google (clients, consent
 * requests, codes and tokens with their expiries, grants, calendars, events, sync bookkeeping, push
 * channels, contacts and contact groups) as one JSON document, read once at start and written after changes. Writes are debounced, one
 * at a time, and atomic (a temporary file in the same directory, fsync, rename) with mode 0600, since the
 * file holds live tokens.
 * A file that cannot be read or does not hold a state is an error at start, never a silent reset; a file
 * that does not exist yet is an empty state, written at start; a file that cannot be written is an
 * error at start too.
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log.js';
import type { StoredChannel } from './calendar/channels.js';
import type { CalendarData } from './calendar/types.js';
import type { PeopleData } from './people/types.js';
import type { EmulatorState, OAuthData } from './state.js';

export const STATE_FILE_VERSION = 1;

export interface StateFile {
  readonly version: typeof STATE_FILE_VERSION;
  readonly savedAt: string;
  /** How far the control API moved the clock; absent in files written before it could. */
  readonly clock?: { readonly offsetMs: number };
  readonly oauth: OAuthData;
  readonly calendar: CalendarData;
  /** Push-notification channels (not what was being delivered); absent in files written before them. */
  readonly channels?: StoredChannel[];
  /** Contacts and contact groups; absent in files written before the People API was emulated. */
  readonly people?: PeopleData;
}

/** The state file is unreadable or holds something else; the message names the file and the problem. */
export class StateFileError extends Error {
  readonly code = 'ERR_EMULATOR_STATE_FILE';
  constructor(path: string, problem: string) {
    super(`emulator state file ${path}: ${problem}`);
    this.name = 'StateFileError';
  }
}

const int = z.number().int();
const strings = z.array(z.string());
const pkce = z.object({ challenge: z.string(), method: z.enum(['S256', 'plain']) }).optional();
const accessType = z.enum(['online', 'offline']);
const tokenBase = {
  token: z.string().min(1),
  clientId: z.string(),
  email: z.string(),
  scopes: strings,
  origin: z.string(),
};
const oauthSchema = z.object({
  clients: z.array(
    z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1), redirectUris: strings }),
  ),
  requests: z.array(
    z.object({
      id: z.string().min(1),
      clientId: z.string(),
      redirectUri: z.string(),
      scopes: strings,
      state: z.string().optional(),
      pkce,
      accessType,
      includeGrantedScopes: z.boolean(),
      loginHint: z.string().optional(),
      expiresAt: int,
    }),
  ),
  codes: z.array(
    z.object({
      code: z.string().min(1),
      clientId: z.string(),
      redirectUri: z.string(),
      email: z.string(),
      scopes: strings,
      pkce,
      accessType,
      expiresAt: int,
      redeemed: z.boolean(),
    }),
  ),
  refreshTokens: z.array(z.object(tokenBase)),
  accessTokens: z.array(z.object({ ...tokenBase, expiresAt: int })),
  grants: z.array(z.object({ clientId: z.string(), email: z.string(), scopes: strings, grantedAt: int })),
  accounts: strings,
});
const when = z.union([
  z.looseObject({ date: z.string() }),
  z.looseObject({ dateTime: int, timeZone: z.string().optional() }),
]);
const calendarSchema = z.object({
  seq: int.min(0),
  accounts: z.record(z.string(), z.array(z.looseObject({ calendarId: z.string(), accessRole: z.string() }))),
  calendars: z.record(
    z.string(),
    z.looseObject({ id: z.string(), owner: z.string(), timeZone: z.string(), tokenEpoch: int }),
  ),
  events: z.record(
    z.string(),
    z.record(
      z.string(),
      z.looseObject({ id: z.string(), status: z.string(), start: when, end: when, changed: int }),
    ),
  ),
  tombstones: z.record(z.string(), z.array(z.looseObject({ id: z.string(), changed: int }))),
  quota: z.looseObject({ enabled: z.boolean() }),
  usage: z.object({
    user: z.record(z.string(), z.array(z.number())),
    project: z.record(z.string(), z.array(z.number())),
    projectDay: z.record(z.string(), z.array(z.number())),
  }),
  maxPageSize: int.nullable(),
  // Absent in files written before they existed: the store then defaults them (off, none).
  changeWhilePaging: z
    .object({ calendarId: z.string().optional(), count: int.min(1) })
    .nullable()
    .optional(),
  raw: z
    .record(
      z.string(),
      z.record(
        z.string(),
        z.object({ fields: z.record(z.string(), z.unknown()), changed: int, updated: int, etag: z.string() }),
      ),
    )
    .optional(),
  sentUpdates: z.array(z.looseObject({})),
});
const channelSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['events', 'calendarList']),
  calendarId: z.string().optional(),
  account: z.string(),
  clientId: z.string(),
  address: z.string(),
  token: z.string().optional(),
  resourceId: z.string(),
  resourceUri: z.string(),
  expiration: int,
  created: int,
  messageNumber: int.min(1),
  stopped: z.boolean().optional(),
  lost: z.boolean().optional(),
  resourceGone: z.boolean().optional(),
});
const contactVersionSchema = z.looseObject({
  seq: int,
  visibleAt: int,
  updateTime: int,
  etag: z.string(),
  sourceEtag: z.string(),
  resourceName: z.string(),
  previousResourceNames: strings,
  deleted: z.boolean(),
  fields: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))),
  groups: strings,
});
const peopleSchema = z.object({
  seq: int.min(0),
  accounts: z.record(
    z.string(),
    z.object({
      contacts: z.record(
        z.string(),
        z.object({ id: z.string(), versions: z.array(contactVersionSchema).min(1) }),
      ),
      groups: z.record(
        z.string(),
        z.looseObject({
          id: z.string(),
          groupType: z.enum(['USER_CONTACT_GROUP', 'SYSTEM_CONTACT_GROUP']),
          name: z.string(),
          etag: z.string(),
          updated: int,
          seq: int,
        }),
      ),
      tokenEpoch: int,
      visibleUntil: int.default(0),
    }),
  ),
  propagationDelayMs: int.min(0),
  quota: z.looseObject({ enabled: z.boolean() }),
  usage: z.record(z.string(), z.array(z.number())),
});
const fileSchema = z.object({
  version: z.literal(STATE_FILE_VERSION),
  savedAt: z.string(),
  clock: z.object({ offsetMs: int }).optional(),
  oauth: oauthSchema,
  calendar: calendarSchema,
  channels: z.array(channelSchema).optional(),
  people: peopleSchema.optional(),
});

/** The state in `path`, or undefined when there is no such file yet. */
export async function readStateFile(path: string): Promise<StateFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(path, `cannot be read (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StateFileError(path, `is not JSON (${(error as Error).message}); fix or remove it`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(top level)';
    throw new StateFileError(
      path,
      `does not hold an emulator state (at ${where}: ${issue?.message}); fix or remove it`,
    );
  }
  const data = parsed.data as unknown as StateFile;
  for (const id of Object.keys(data.calendar.calendars)) {
    if (!data.calendar.events[id] || !data.calendar.tombstones[id])
      throw new StateFileError(path, `calendar ${JSON.stringify(id)} has no events; fix or remove it`);
  }
  return data;
}

export function snapshot(state: EmulatorState): StateFile {
  return {
    version: STATE_FILE_VERSION,
    savedAt: new Date(state.now()).toISOString(),
    clock: { offsetMs: state.clockOffset },
    oauth: state.toJSON(),
    calendar: state.calendar.toJSON(),
    channels: state.push.toJSON(),
    people: state.people.toJSON(),
  };
}

export function restore(state: EmulatorState, file: StateFile): void {
  state.load(file.oauth);
  state.setClockOffset(file.clock?.offsetMs ?? 0);
  state.calendar.load(file.calendar);
  state.push.load(file.channels ?? []);
  if (file.people) state.people.load(file.people);
  else state.people.reset();
}

/** Writes `text` to `path` atomically with mode 0600: temporary file, fsync, rename. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Saves the state some time after the last change signal, one write at a time; a signal during a write
 * brings another write after it. Unchanged state (same JSON as the last write) is not written again.
 */
export class StateSaver {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private lastWritten: string | undefined;

  constructor(
    private readonly path: string,
    private readonly state: EmulatorState,
    private readonly logger: Logger,
    private readonly delayMs = 100,
  ) {}

  /** Something may have changed: save within `delayMs`. */
  changed(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.save();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes now what is pending (close calls it) and waits for the write. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.save();
  }

  /**
   * The first write, at start: a state file that cannot be written is an error then (a missing directory,
   * no permission), rather than a log line on every change.
   */
  async saveAtStart(): Promise<void> {
    const file = snapshot(this.state);
    try {
      await writeAtomically(this.path, `${JSON.stringify(file, null, 1)}\n`);
    } catch (error) {
      throw new StateFileError(this.path, `cannot be written (${(error as Error).message})`);
    }
    this.lastWritten = comparableContent(file);
  }

  private async save(): Promise<void> {
    while (this.writing) await this.writing;
    const file = snapshot(this.state);
    const comparable = comparableContent(file);
    if (comparable === this.lastWritten) return;
    this.writing = writeAtomically(this.path, `${JSON.stringify(file, null, 1)}\n`)
      .then(() => {
        this.lastWritten = comparable;
      })
      .catch((error: unknown) => {
        this.logger.error({ err: { message: (error as Error).message } }, 'emulator state not saved');
      })
      .finally(() => {
        this.writing = undefined;
      });
    await this.writing;
  }
}

/** The file's content but for the time it was saved: what tells whether there is anything to write. */
function comparableContent(file: StateFile): string {
  return JSON.stringify([file.clock, file.oauth, file.calendar, file.channels, file.people]);
}
