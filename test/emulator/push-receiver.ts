/**
 * A small webhook receiver on 127.0.0.1 for push-notification tests: it records every request and hands
 * them out one by one as awaited promises (no sleeps). What it answers is scripted per request.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** performance.now() when it arrived. */
  readonly at: number;
}

/** Per request (0-based): a status to answer, or 'hang' to never answer. Default 200. */
export type Script = (index: number, received: Received) => number | 'hang';

export interface Receiver {
  /** Base URL, e.g. `http://127.0.0.1:41234`; any path is accepted. */
  readonly url: string;
  /** Everything received so far, in arrival order. */
  readonly received: readonly Received[];
  /** The next request not handed out yet (waits for it; fails after `timeoutMs`). */
  next(timeoutMs?: number): Promise<Received>;
  /** The next `count` requests. */
  take(count: number, timeoutMs?: number): Promise<Received[]>;
  /** Requests received but not handed out yet. */
  readonly unread: number;
  script(answer: Script): void;
  close(): Promise<void>;
}

export async function startReceiver(answer: Script = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const waiting = new Map<number, (value: Received) => void>();
  let cursor = 0;
  let script = answer;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const item: Received = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body,
        at: performance.now(),
      };
      const index = received.length;
      received.push(item);
      waiting.get(index)?.(item);
      waiting.delete(index);
      const status = script(index, item);
      if (status === 'hang') hanging.push(response);
      else response.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const at = (index: number, timeoutMs: number): Promise<Received> => {
    const ready = received[index];
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(index);
        reject(new Error(`receiver: no request #${index + 1} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(index, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  };
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}`,
    received,
    next: (timeoutMs = 5_000) => at(cursor++, timeoutMs),
    take: (count, timeoutMs = 5_000) =>
      Promise.all(Array.from({ length: count }, () => at(cursor++, timeoutMs))),
    get unread() {
      return received.length - cursor;
    },
    script: (next) => {
      script = next;
    },
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

/** The `X-Goog-*` headers of a request, names as sent (Node lowercases them). */
export function goog(received: Received): Record<string, string> {
  return Object.fromEntries(
    Object.entries(received.headers)
      .filter(([name]) => name.startsWith('x-goog-'))
      .map(([name, value]) => [name, String(value)]),
  );
}

export function stateOf(received: Received): string {
  return String(received.headers['x-goog-resource-state']);
}

export function numberOf(received: Received): number {
  return Number(received.headers['x-goog-message-number']);
}

/** A call to the emulator's control API (`/__emulator<path>`), JSON in and out. */
export async function controlCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const answer = await fetch(`${base}/__emulator${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  return { status: answer.status, body: text ? JSON.parse(text) : undefined };
}
