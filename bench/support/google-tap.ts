/**
 * A recording pass-through in front of the emulator's Calendar API: the sidecar's GOOGLE_API_ROOT_URL
 * points here (OAuth goes to the emulator directly). It keeps every call Google would see: when it
 * arrived, when the emulator's whole answer was back (an event is visible at Google from then on), what
 * it addressed, and what it answered, so the bench can tell when a save reached Google, how the calls
 * were spaced, and which were refused for rate limits (the sidecar's one retry policy retries those
 * without a trace). It costs one loopback hop per call, in this process (well under a millisecond).
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface TappedCall {
  /** performance.now() of this process when the request arrived, and when its whole answer was back. */
  readonly sentAt: number;
  readonly answeredAt: number;
  /** `events.list`, `events.insert`, `events.patch`, `events.get`, `events.delete`, `calendarList.list`... */
  readonly op: string;
  readonly calendar: string | undefined;
  /** The event addressed: in the path, or for an insert the client-chosen `id` of the body. */
  readonly eventId: string | undefined;
  readonly status: number;
  /** Google's error reason of a non-2xx answer (`userRateLimitExceeded`...). */
  readonly reason: string | undefined;
}

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);
/** Hop-by-hop headers, not forwarded: the tap answers with the whole body and its length. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export function isRateLimited(call: TappedCall): boolean {
  return call.status === 429 || (call.status === 403 && RATE_LIMIT_REASONS.has(call.reason ?? ''));
}

export const succeeded = (call: TappedCall): boolean => call.status >= 200 && call.status < 300;

export class GoogleTap {
  readonly calls: TappedCall[] = [];
  private readonly events = new EventEmitter();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  private constructor(
    private readonly server: http.Server,
    private readonly upstream: URL,
    readonly url: string,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards to `upstream` (the emulator's URL). */
  static async start(upstream: string): Promise<GoogleTap> {
    const server = http.createServer();
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const tap = new GoogleTap(server, new URL(upstream), `http://127.0.0.1:${port}`);
    server.on('request', (request, response) => {
      tap.forward(request, response).catch((error: Error) => {
        if (!response.headersSent) response.writeHead(502).end(`tap: ${error.message}`);
        else response.destroy();
      });
    });
    return tap;
  }

  /** Calls from `from` on (an index of `calls`). */
  since(from: number): TappedCall[] {
    return this.calls.slice(from);
  }

  /**
   * Resolves with the call that makes `count` distinct keys among the calls from `from` on (`key` gives
   * a call's key, or undefined when it does not count); rejects after `timeoutMs`.
   */
  waitForKeys(
    from: number,
    count: number,
    key: (call: TappedCall) => string | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<TappedCall> {
    const seen = new Set<string>();
    return new Promise((resolve, reject) => {
      const check = (call: TappedCall): boolean => {
        const found = key(call);
        if (found === undefined) return false;
        seen.add(found);
        if (seen.size < count) return false;
        resolve(call);
        return true;
      };
      for (const call of this.calls.slice(from)) if (check(call)) return;
      const timer = setTimeout(() => {
        this.events.off('call', listener);
        reject(new Error(`${what}: ${seen.size}/${count} after ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (call: TappedCall) => {
        if (!check(call)) return;
        clearTimeout(timer);
        this.events.off('call', listener);
      };
      this.events.on('call', listener);
    });
  }

  /** The first call from `from` on that `match` accepts. */
  waitFor(
    from: number,
    match: (call: TappedCall) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<TappedCall> {
    return this.waitForKeys(from, 1, (call) => (match(call) ? 'found' : undefined), timeoutMs, what);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    this.agent.destroy();
  }

  private async forward(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const sentAt = performance.now();
    const body = await readAll(request);
    const outgoing = http.request({
      host: this.upstream.hostname,
      port: this.upstream.port,
      method: request.method,
      path: request.url,
      headers: { ...request.headers, host: this.upstream.host },
      agent: this.agent,
    });
    outgoing.end(body);
    const [answer] = (await once(outgoing, 'response')) as [http.IncomingMessage];
    const answerBody = await readAll(answer);
    const answeredAt = performance.now();
    const status = answer.statusCode ?? 0;
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers))
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    headers['content-length'] = String(answerBody.length);
    response.writeHead(status, headers);
    response.end(answerBody);
    const { op, calendar, eventId } = classify(request.method ?? 'GET', request.url ?? '/', body);
    const call: TappedCall = {
      sentAt,
      answeredAt,
      op,
      calendar,
      eventId,
      status,
      reason: status >= 400 ? errorReason(answerBody, answer.headers['content-encoding']) : undefined,
    };
    this.calls.push(call);
    this.events.emit('call', call);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Calendar v3 paths under the API root: `calendar/v3/calendars/<id>/events[/<eventId>]`. */
function classify(
  method: string,
  url: string,
  body: Buffer,
): { op: string; calendar: string | undefined; eventId: string | undefined } {
  const path = url.split('?')[0] ?? '';
  if (/\/users\/me\/calendarList\/?$/.test(path))
    return { op: 'calendarList.list', calendar: undefined, eventId: undefined };
  const match = /\/calendars\/([^/]+)\/events(?:\/([^/]+))?(\/instances)?\/?$/.exec(path);
  if (!match) return { op: `${method} ${path}`, calendar: undefined, eventId: undefined };
  const calendar = decodeURIComponent(match[1] as string);
  const pathEvent = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  if (match[3]) return { op: 'events.instances', calendar, eventId: pathEvent };
  if (pathEvent === undefined) {
    if (method === 'GET') return { op: 'events.list', calendar, eventId: undefined };
    let id: string | undefined;
    try {
      id = (JSON.parse(body.toString('utf8')) as { id?: string }).id;
    } catch {
      // Not JSON: no id.
    }
    return { op: method === 'POST' ? 'events.insert' : `${method} events`, calendar, eventId: id };
  }
  const ops: Record<string, string> = {
    GET: 'events.get',
    PATCH: 'events.patch',
    PUT: 'events.update',
    DELETE: 'events.delete',
  };
  return { op: ops[method] ?? `${method} event`, calendar, eventId: pathEvent };
}

function errorReason(body: Buffer, encoding: string | undefined): string | undefined {
  try {
    const text = (encoding === 'gzip' ? gunzipSync(body) : body).toString('utf8');
    const parsed = JSON.parse(text) as { error?: { errors?: Array<{ reason?: string }>; status?: string } };
    return parsed.error?.errors?.[0]?.reason ?? parsed.error?.status;
  } catch {
    return undefined;
  }
}
