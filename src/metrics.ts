/**
 * Prometheus metrics (prom-client) for the person operating the sidecar, served on `GET /metrics`.
 * A registry per sidecar instance (not prom-client's global one) so tests can run several. Labels
 * are closed sets: never a database name, credential id or anything a caller chooses.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type RefreshOutcome = 'refreshed' | 'invalid_grant' | 'transient' | 'rejected';
export type CallbackOutcome =
  | 'authorized'
  | 'denied'
  | 'refused'
  | 'code_rejected'
  | 'google_unavailable'
  | 'error';

export type NotificationOutcome = 'taken' | 'replayed' | 'unknown' | 'expired' | 'forged' | 'malformed';

const CONTACT_CHANGES = ['created', 'updated', 'archived', 'pushed', 'deleted', 'conflicts', 'held'] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly refreshes = new Counter({
    name: 'tryton_google_token_refreshes_total',
    help: 'Token refreshes attempted with Google, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly callbacks = new Counter({
    name: 'tryton_google_authorization_callbacks_total',
    help: 'OAuth callbacks received, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly requests = new Histogram({
    name: 'tryton_google_http_request_duration_seconds',
    help: 'HTTP requests served, by route and status class',
    labelNames: ['route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly syncs = new Histogram({
    name: 'tryton_google_calendar_sync_duration_seconds',
    help: 'Calendar pulls, by outcome (ok, failed)',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly syncedEvents = new Counter({
    name: 'tryton_google_calendar_events_total',
    help: 'Events of calendar pulls, by change (created, updated, deleted in Tryton; skipped: refused)',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });

  private readonly pushes = new Counter({
    name: 'tryton_google_calendar_pushes_total',
    help: "Tryton's changes written to Google Calendar, by change (created, updated, deleted)",
    labelNames: ['change'] as const,
    registers: [this.registry],
  });
  private readonly conflicts = new Counter({
    name: 'tryton_google_calendar_conflicts_total',
    help: 'Conflicts the two-way merge recorded, by kind (edit: both changed a field; delete: one side deleted)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly notifications = new Counter({
    name: 'tryton_google_notifications_total',
    help: "Google's push notifications received, by outcome (taken, replayed, unknown, expired, forged, malformed)",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly channelChangesCounter = new Counter({
    name: 'tryton_google_channel_changes_total',
    help: 'Push channels created, renewed before expiry, replaced as lost, stopped, or that could not be made',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });
  readonly channels = new Gauge({
    name: 'tryton_google_channels',
    help: 'Push channels by database and health (active, waiting, failing), counted at each background pass',
    labelNames: ['database', 'status'] as const,
    registers: [this.registry],
  });
  private readonly contactChanges = new Counter({
    name: 'tryton_google_contacts_changes_total',
    help: 'What contacts rounds did: parties created, updated, archived; contacts pushed, deleted; conflicts; deletions held by the guard',
    labelNames: ['change'] as const,
    registers: [this.registry],
  });
  private readonly releasedLocks = new Counter({
    name: 'tryton_google_job_locks_released_total',
    help: 'Job runners found dead (heartbeat lapsed) whose locked jobs and queues were released',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  calendarSync(
    outcome: 'ok' | 'failed',
    seconds: number,
    counts?: { created: number; updated: number; deleted: number; skipped: number },
  ): void {
    this.syncs.observe({ outcome }, seconds);
    for (const change of ['created', 'updated', 'deleted', 'skipped'] as const) {
      if (counts?.[change]) this.syncedEvents.inc({ change }, counts[change]);
    }
  }

  calendarPush(
    changes: { created: number; updated: number; deleted: number },
    conflicts: { edit: number; delete: number },
  ): void {
    for (const change of ['created', 'updated', 'deleted'] as const)
      if (changes[change]) this.pushes.inc({ change }, changes[change]);
    for (const kind of ['edit', 'delete'] as const)
      if (conflicts[kind]) this.conflicts.inc({ kind }, conflicts[kind]);
  }

  notification(outcome: NotificationOutcome): void {
    this.notifications.inc({ outcome });
  }

  channelChanges(changes: {
    created: number;
    renewed: number;
    lost: number;
    stopped: number;
    failed: number;
  }): void {
    for (const change of ['created', 'renewed', 'lost', 'stopped', 'failed'] as const)
      if (changes[change]) this.channelChangesCounter.inc({ change }, changes[change]);
  }

  contactsRound(counts: Readonly<Record<(typeof CONTACT_CHANGES)[number], number>>): void {
    for (const change of CONTACT_CHANGES)
      if (counts[change]) this.contactChanges.inc({ change }, counts[change]);
  }

  jobLocksReleased(runners: number): void {
    this.releasedLocks.inc(runners);
  }

  refresh(outcome: RefreshOutcome): void {
    this.refreshes.inc({ outcome });
  }

  callback(outcome: CallbackOutcome): void {
    this.callbacks.inc({ outcome });
  }

  request(route: string, status: number, seconds: number): void {
    this.requests.observe({ route, status: `${Math.floor(status / 100)}xx` }, seconds);
  }
}
