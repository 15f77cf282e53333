/**
 * What the contacts section (9) runs against: a Tryton database of its own (a clone of the tests'
 * template, party activated), the emulator, trytond serving that database, and the sidecar reaching
 * trytond's contacts route through TRYTOND_URL, with two recording pass-throughs in between (People API
 * calls, route calls: when each left and was answered). The credential is made through Tryton's ORM (so
 * the module makes the route's application key, as when an admin saves it) with Calendar and Contacts,
 * then taken through the emulator's consent like a user would. And the baseline: Tryton's ORM creating
 * the same parties in one transaction, in a Python process of the project's virtualenv on a clone of
 * the same template.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { consent, followRedirect } from '../../test/support/consent.js';
import { ROOT } from '../../test/support/tryton.js';
import {
  freePort,
  scratchFolder,
  startTrytond,
  TrytonSession,
  type TrytondProcess,
  writeTrytondConfig,
} from '../../test/support/trytond.js';
import type { Build } from './build.js';
import { type Child, spawnServer } from './children.js';
import { GoogleTap, type TappedCall } from './google-tap.js';
import {
  API_KEY,
  databaseUri,
  dropDatabase,
  type Emulator,
  POSTGRES_URI,
  rpcBody,
  RPC_HEADERS,
  sidecarEnv,
  startEmulator,
} from './stack.js';
import { createTrytonDatabase } from './tryton.js';

const PYTHON = join(process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv'), 'bin', 'python');
const CLIENT = {
  id: 'bench-contacts.apps.googleusercontent.com',
  secret: `bench-${randomBytes(12).toString('hex')}`,
};

/** One contact as seeded at Google, and the party Tryton's ORM makes of it in the baseline. */
export interface SeedContact {
  readonly name: string;
  readonly email: string;
  /** Google's phone type (`work`, `mobile`) and Tryton's mechanism type for it (`phone`, `mobile`). */
  readonly googleType: 'work' | 'mobile';
  readonly trytonType: 'phone' | 'mobile';
  /** As a person typed it on a phone; Tryton stores it in international format. */
  readonly phone: string;
}

const GIVEN = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'John',
  'Margaret',
  'Niklaus',
];
const FAMILY = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton'];

/**
 * `count` contacts, each with a name, an e-mail and a phone: Brussels landlines (`+32 2 2xx xx xx`,
 * typed spaced) and Belgian mobiles (`+32475…`, typed compact), every one valid for libphonenumber
 * and Python's phonenumbers, none twice.
 */
export function seedContacts(count: number): SeedContact[] {
  return Array.from({ length: count }, (_, index) => {
    const given = GIVEN[index % GIVEN.length] as string;
    const family = FAMILY[Math.floor(index / GIVEN.length) % FAMILY.length] as string;
    const digits = String(index).padStart(6, '0');
    const landline = index % 2 === 0;
    return {
      name: `${given} ${family} ${index + 1}`,
      email: `${given}.${family}.${index + 1}@bench.example.com`.toLowerCase(),
      googleType: landline ? 'work' : 'mobile',
      trytonType: landline ? 'phone' : 'mobile',
      phone: landline
        ? `+32 2 2${digits.slice(0, 2)} ${digits.slice(2, 4)} ${digits.slice(4)}`
        : `+32475${digits}`,
    };
  });
}

/** The People resource a person would make of `contact` in Google Contacts. */
export function personOf(contact: SeedContact): Record<string, unknown> {
  return {
    names: [{ unstructuredName: contact.name }],
    emailAddresses: [{ value: contact.email }],
    phoneNumbers: [{ value: contact.phone, type: contact.googleType }],
  };
}

export interface ContactsBench {
  readonly database: string;
  /** The bench's own connection to the database (row versions, SQL reads). */
  readonly db: pg.Client;
  readonly emulator: Emulator;
  readonly sidecar: Child;
  readonly trytond: TrytondProcess;
  /** Tryton's admin over JSON-RPC. */
  readonly admin: TrytonSession;
  /** The People calls the sidecar made (the sidecar's GOOGLE_API_ROOT_URL). */
  readonly peopleTap: GoogleTap;
  /** The sidecar's calls of the module's route (its TRYTOND_URL). */
  readonly routeTap: GoogleTap;
  readonly credential: number;
  readonly email: string;
  /** One JSON-RPC call of the sidecar for the credential, without a client-side time limit. */
  rpc<T>(method: string, params?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * `env` adds to the sidecar's environment (the bench raises TRYTOND_TIMEOUT, so that a slow route call
 * is measured rather than failed).
 */
export async function startContactsBench(
  build: Build,
  email: string,
  env: Record<string, string> = {},
): Promise<ContactsBench> {
  const database = await createTrytonDatabase(build, 'gi_bench_contacts');
  const cleanups: Array<() => Promise<unknown>> = [() => dropDatabase(database)];
  const stop = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const db = new pg.Client({ connectionString: databaseUri(database) });
    await db.connect();
    cleanups.push(() => db.end());
    const emulator = await startEmulator(build);
    cleanups.push(() => emulator.stop());
    const peopleTap = await GoogleTap.start(emulator.url);
    cleanups.push(() => peopleTap.stop());
    // trytond's address is known before the sidecar starts (TRYTOND_URL), trytond starts after it
    // (its configuration names the sidecar).
    const trytondUrl = `http://127.0.0.1:${await freePort()}`;
    const routeTap = await GoogleTap.start(trytondUrl);
    cleanups.push(() => routeTap.stop());
    const sidecar = await spawnServer(build.cli, {
      name: 'contacts-serve',
      args: ['serve'],
      env: {
        ...sidecarEnv(emulator.url, database, 'info'),
        GOOGLE_API_ROOT_URL: `${peopleTap.url}/`,
        TRYTOND_URL: routeTap.url,
        // Rounds are asked for by the bench (contacts.sync), never by a background pass.
        SIDECAR_SYNC_INTERVAL: '3600',
        ...env,
      },
    });
    cleanups.push(() => sidecar.stop());
    const scratch = scratchFolder('gi-bench-contacts-');
    cleanups.push(async () => scratch.remove());
    const trytond = await startTrytond(
      writeTrytondConfig(scratch.folder, {
        url: trytondUrl,
        sidecarUrl: sidecar.url,
        apiKey: API_KEY,
        databaseUri: POSTGRES_URI,
      }),
      database,
      trytondUrl,
    );
    cleanups.push(() => trytond.stop());
    const admin = await TrytonSession.login(trytondUrl, database);
    const rpc = async <T>(method: string, params: Record<string, unknown> = {}) => {
      const answer = (await longPost(
        `${sidecar.url}/rpc`,
        rpcBody(method, { database, credential_id: credential, ...params }),
      )) as { result?: T; error?: unknown };
      if (answer.error !== undefined) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
      return answer.result as T;
    };
    const credential = await contactsCredential(sidecar.url, emulator, admin, database, email);
    return {
      database,
      db,
      emulator,
      sidecar,
      trytond,
      admin,
      peopleTap,
      routeTap,
      credential,
      email,
      rpc,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Credentials of `email` listing Calendar and Contacts, saved through Tryton's ORM by the admin (the
 * module makes the route's application key then), and authorized through the emulator's consent.
 */
async function contactsCredential(
  sidecarUrl: string,
  emulator: Emulator,
  admin: TrytonSession,
  database: string,
  email: string,
): Promise<number> {
  const redirect = `${sidecarUrl}/${database}/google/callback`;
  await emulator.control('/clients', {
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
    redirect_uris: [redirect],
  });
  const [id] = (await admin.call('model.google_integration.google_credentials.create', [
    [
      {
        name: `Contacts of ${email}`,
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uri: redirect,
        services: ['calendar', 'contacts'],
        sync_enabled: false,
      },
    ],
    {},
  ])) as [number];
  const request = JSON.parse(
    await post(
      `${sidecarUrl}/rpc`,
      rpcBody('credentials.request_authorization', { database, credential_id: id }),
    ),
  ) as { result?: { authorization_url: string }; error?: unknown };
  if (!request.result) throw new Error(`request_authorization: ${JSON.stringify(request.error)}`);
  const callback = await followRedirect(
    (await consent(request.result.authorization_url, { email })).redirect,
  );
  if (callback.status !== 200) throw new Error(`callback answered ${callback.status}`);
  return id;
}

async function post(url: string, body: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: RPC_HEADERS, body });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status} ${text.slice(0, 200)}`);
  return text;
}

/**
 * A POST over node:http, which waits for the answer as long as it takes (fetch gives up on headers
 * after 300 s, and a 5,000-contact round on a loaded machine may take longer).
 */
function longPost(url: string, body: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: RPC_HEADERS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) reject(new Error(`${url}: HTTP ${response.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** The emulator's People calls so far, by operation (`people.connections.list`, ...). */
export async function peopleStats(emulator: Emulator): Promise<Record<string, number>> {
  const stats = (await emulator.control('/stats')) as { people?: Record<string, number> };
  return stats.people ?? {};
}

/** Each operation's count in `after` less its count in `before`, the zeros left out. */
export function statsDiff(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after)) {
    const made = count - (before[operation] ?? 0);
    if (made !== 0) diff[operation] = made;
  }
  return diff;
}

/** The People operation of a call the tap saw (its method and path under the API root). */
export function peopleOperation(call: TappedCall): string {
  const [method, path = ''] = call.op.split(' ');
  if (method === 'GET' && /\/people\/me\/connections$/.test(path)) return 'people.connections.list';
  const batch = /\/people:(batch\w+)$/.exec(path)?.[1];
  if (batch) return `people.${batch}`;
  if (/\/contactGroups$/.test(path)) return method === 'GET' ? 'contactGroups.list' : 'contactGroups.create';
  if (/\/members:modify$/.test(path)) return 'contactGroups.members.modify';
  if (/:updateContact$/.test(path)) return 'people.updateContact';
  if (method === 'GET' && /\/people\/c\d+$/.test(path)) return 'people.get';
  return call.op;
}

/** The route's action of a call the tap saw (`pending`, `read`, `match`, `apply`). */
export function routeAction(call: TappedCall): string {
  return /\/google_integration\/contacts\/(\w+)$/.exec(call.op.split(' ')[1] ?? '')?.[1] ?? call.op;
}

/**
 * The contacts seeded by one control call: the API takes up to 10,000, but its JSON body limit
 * (256 kB, src/emulator/control.ts) holds about 1,400 of the bench's contacts.
 */
const SEED_BATCH = 1_000;

/**
 * Seeds `people` at the emulator for `email` (its control API, as a person's phone would), in calls of
 * SEED_BATCH. Returns the contacts as the emulator made them.
 */
export async function seedAtGoogle(
  emulator: Emulator,
  email: string,
  people: readonly Record<string, unknown>[],
): Promise<Array<{ resourceName: string; etag: string }>> {
  const made: Array<{ resourceName: string; etag: string }> = [];
  for (let start = 0; start < people.length; start += SEED_BATCH) {
    const answer = (await emulator.control(`/people/accounts/${encodeURIComponent(email)}/contacts`, {
      contacts: people.slice(start, start + SEED_BATCH),
    })) as { items: Array<{ resourceName: string; etag: string }> };
    made.push(...answer.items);
  }
  return made;
}

/** resourceName -> etag of the account's contacts as Google holds them. */
export async function googleEtags(emulator: Emulator, email: string): Promise<Map<string, string>> {
  const answer = (await emulator.control(`/people/accounts/${encodeURIComponent(email)}/contacts`)) as {
    items: Array<{ resourceName: string; etag: string }>;
  };
  return new Map(answer.items.map((person) => [person.resourceName, person.etag]));
}

/** What trytond does per party, measured in-process (see PROFILE in BASELINE_SCRIPT). */
export interface RouteProfile {
  /** Parties of each measured step. */
  readonly parties: number;
  /** The route's `apply` of that many creations, one transaction: ms and SQL statements. */
  readonly applyMs: number;
  readonly applySql: number;
  /** One `party.party.create` of as many parties (mechanisms nested), one transaction. */
  readonly batchMs: number;
  readonly batchSql: number;
  /** Under cProfile, a third batch: [what, share of apply's time, calls]. */
  readonly shares: ReadonlyArray<readonly [string, number, number]>;
}

/**
 * Tryton's ORM in one transaction: on a fresh clone of the same template, a Python process of the
 * project's virtualenv runs `party.party.create` of every party at once (the name, and its e-mail and
 * phone mechanisms created with it), as the admin with access checks on, like the route's user; the
 * time is the create and its commit (the pool loaded before). Then, on the same database, where
 * trytond's time goes in the route: its `apply` of 200 creations called in-process against one create
 * of 200, each in its own transaction, with their SQL statements counted, and a cProfile of `apply`.
 */
export async function ormBaseline(
  build: Build,
  contacts: readonly SeedContact[],
): Promise<{ ms: number; created: number; mechanisms: number; profile: RouteProfile }> {
  const database = await createTrytonDatabase(build, 'gi_bench_contacts_orm');
  const scratch = scratchFolder('gi-bench-contacts-orm-');
  try {
    const config = join(scratch.folder, 'trytond.conf');
    writeFileSync(config, `[database]\nuri = ${POSTGRES_URI}\n`, { mode: 0o600 });
    const rows = join(scratch.folder, 'parties.json');
    writeFileSync(
      rows,
      JSON.stringify(
        contacts.map((contact) => ({
          name: contact.name,
          email: contact.email,
          phone_type: contact.trytonType,
          phone: contact.phone,
        })),
      ),
    );
    const script = join(scratch.folder, 'baseline.py');
    writeFileSync(script, BASELINE_SCRIPT);
    const { stdout } = await promisify(execFile)(PYTHON, [script, config, database, rows], {
      env: { ...process.env, PYTHONWARNINGS: 'ignore' },
      maxBuffer: 1 << 20,
      timeout: 30 * 60_000,
    });
    const measured = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
      ms: number;
      created: number;
      mechanisms: number;
      profile: RouteProfile;
    };
    return measured;
  } finally {
    scratch.remove();
    await dropDatabase(database);
  }
}

/**
 * Runs in the virtualenv's Python: argv config file, database, JSON rows. Each transaction is the
 * route's: started as user 0, then the admin with access checks on (trytond's user_application does the
 * same for the application key's user), committed. The profile's credential lists Contacts with an empty
 * category scope, so saving it marks none of the baseline's parties; its steps run in the route's context
 * (the account's own changes mark nothing), on rows of their own.
 */
const BASELINE_SCRIPT = `
import cProfile
import json
import pstats
import sys
import time

from trytond import config
config.update_etc(sys.argv[1])
import psycopg
from trytond.pool import Pool
from trytond.transaction import Transaction, check_access

database, path = sys.argv[2], sys.argv[3]
with open(path) as f:
    rows = json.load(f)
Pool.start()
pool = Pool(database)
pool.init()
with Transaction().start(database, 0, readonly=True):
    admin, = pool.get('res.user').search([('login', '=', 'admin')])
    admin_id = admin.id
Party = pool.get('party.party')


def party_values(r):
    return {
        'name': r['name'],
        'contact_mechanisms': [('create', [
                    {'type': 'email', 'value': r['email']},
                    {'type': r['phone_type'], 'value': r['phone']},
                    ])],
        }


with Transaction().start(database, 0, context={}) as transaction, \\
        transaction.set_user(admin_id), check_access():
    started = time.perf_counter()
    parties = Party.create([party_values(r) for r in rows])
    transaction.commit()
    ms = (time.perf_counter() - started) * 1000
with Transaction().start(database, 0, readonly=True):
    mechanisms = pool.get('party.contact_mechanism').search([], count=True)

# Where trytond's time goes in the route.
from trytond.modules.google_integration import routes
from trytond.modules.google_integration.contact import SYNC_CONTEXT

PROFILE = min(200, len(rows) // 3)
statements = [0]
execute = psycopg.Cursor.execute


def counted(self, *args, **kwargs):
    statements[0] += 1
    return execute(self, *args, **kwargs)


psycopg.Cursor.execute = counted
with Transaction().start(database, 0, context={}) as transaction, \\
        transaction.set_user(admin_id):
    Credentials = pool.get('google_integration.google_credentials')
    credential, = Credentials.create([{
                'name': 'profile', 'client_id': 'profile',
                'client_secret': 'profile', 'redirect_uri': 'http://x/cb',
                'services': ['calendar', 'contacts'],
                'contacts_scope': 'categories', 'sync_enabled': False,
                }])
    credential_id = credential.id
    transaction.commit()


def changes(part, first):
    return [{
            'op': 'create', 'resource_name': f'people/c{first + i}',
            'values': {
                'name': r['name'], 'organization': '', 'emails': [r['email']],
                'phones': [{'type': r['phone_type'], 'value': r['phone'],
                        'e164': ''}],
                'website': '', 'addresses': [], 'groups': [],
                },
            } for i, r in enumerate(part)]


def timed(step, profiler=None):
    statements[0] = 0
    with Transaction().start(database, 0, context={}) as transaction, \\
            transaction.set_user(admin_id), check_access(), \\
            transaction.set_context({SYNC_CONTEXT: credential_id}):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        step()
        if profiler:
            profiler.disable()
        transaction.commit()
        return (time.perf_counter() - started) * 1000, statements[0]


def apply(part, first):
    def step():
        routes.apply(Credentials(credential_id), {
                'credential_id': credential_id,
                'changes': changes(part, first)})
    return step


apply_ms, apply_sql = timed(apply(rows[:PROFILE], 10 ** 9))
batch_ms, batch_sql = timed(lambda: Party.create(
        [party_values(r) for r in rows[PROFILE:2 * PROFILE]]))
profiler = cProfile.Profile()
timed(apply(rows[2 * PROFILE:3 * PROFILE], 2 * 10 ** 9), profiler)
stats = pstats.Stats(profiler).stats
total = max(
    (v[3] for k, v in stats.items() if k[2] == 'apply'
        and k[0].endswith('routes.py')), default=0) or 1
WANTED = [
    ('create_party', 'contact_values.py', 'create_party'),
    ('  contact_values.apply (mechanisms)', 'contact_values.py', 'apply'),
    ('    _apply_phones', 'contact_values.py', '_apply_phones'),
    ('    _apply_emails', 'contact_values.py', '_apply_emails'),
    ('    _apply_website', 'contact_values.py', '_apply_website'),
    ('    _apply_addresses', 'contact_values.py', '_apply_addresses'),
    ('    _apply_groups', 'contact_values.py', '_apply_groups'),
    ('values_of (read back)', 'contact_values.py', 'values_of'),
    ('_synced (party_contact row)', 'routes.py', '_synced'),
    ('mark_parties (on_modification)', 'contact.py', 'mark_parties'),
    ("party's _parse_phonenumber", 'contact_mechanism.py',
        '_parse_phonenumber'),
    ('SQL (psycopg execute)', 'cursor.py', 'execute'),
    ]
shares = []
for label, file, function in WANTED:
    found = [v for k, v in stats.items()
        if k[0].endswith(file) and k[2] == function]
    if found:
        shares.append([label, max(v[3] for v in found) / total,
                sum(v[1] for v in found)])
create_party = next((s for s in shares if s[0] == 'create_party'), None)
applied = next((s for s in shares if s[0].strip().startswith(
                'contact_values.apply')), None)
if create_party and applied:
    shares.insert(1, ['  its Party.create and hooks',
            create_party[1] - applied[1], create_party[2]])
print(json.dumps({
            'ms': ms, 'created': len(parties), 'mechanisms': mechanisms,
            'profile': {
                'parties': PROFILE, 'applyMs': apply_ms, 'applySql': apply_sql,
                'batchMs': batch_ms, 'batchSql': batch_sql, 'shares': shares,
                },
            }))
`;
