/**
 * The deployment of docs/deployment.md on one machine: the real nginx (its own prefix, config, pid
 * and logs under .cache/, a child process, TLS with a throw-away self-signed certificate) rendered
 * from deploy/nginx/tryton-google.conf.template, in front of trytond 8.0 under gunicorn
 * (trytond.application:app) and the sidecar (`tryton-google serve`), with the offline Google
 * emulator. The public URL is the proxy's: the credential's redirect URI points there.
 */
import { freePort } from '../../support/trytond.js';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import { emulatorEndpoints, type RunningEmulator, startEmulator } from '../../../src/emulator/server.js';
import { API_KEY, sidecarEnv } from '../../support/env.js';
import { cloneDatabase, connect, dropDatabase, POSTGRES_URI } from '../../support/postgres.js';
import { registerClient } from '../../support/emulator-client.js';
import { type SidecarProcess, startServe } from '../../support/processes.js';
import { ROOT, trytonTemplate } from '../../support/tryton.js';

const run = promisify(execFile);
export const NGINX = process.env.NGINX ?? '/usr/sbin/nginx';
const VENV = process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv');
export const GUNICORN = join(VENV, 'bin', 'gunicorn');
export const TEMPLATE = join(ROOT, 'deploy', 'nginx', 'tryton-google.conf.template');

/** scripts/deploy-setup.sh: nginx (apt) and gunicorn (venv) when missing. */
export async function deploySetup(): Promise<void> {
  await run('bash', [join(ROOT, 'scripts', 'deploy-setup.sh')], { maxBuffer: 1 << 24, timeout: 600_000 });
}

export { freePort };

/** Fills the template's ${PROXY_*} placeholders; every placeholder must have a value. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const rendered = template.replace(/\$\{(PROXY_[A-Z_]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole}`);
    return value;
  });
  return rendered;
}

/** The placeholders a template uses. */
export function placeholders(template: string): string[] {
  return [
    ...new Set([...template.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((match) => match[1] as string)),
  ].sort();
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | undefined;
  /** PEM of the certificate to trust for https:// (the proxy's self-signed one). */
  readonly ca?: string;
  /** The path exactly as sent (URL parsing would resolve dot segments before nginx sees them). */
  readonly rawPath?: string;
}

/** One HTTP(S) request, no redirect followed (fetch cannot be told to trust one certificate). */
export function request(url: string, options: RequestOptions = {}): Promise<Answer> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const outgoing = client.request(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        path: options.rawPath ?? `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: {
          ...(options.body === undefined ? {} : { 'content-length': Buffer.byteLength(options.body) }),
          ...options.headers,
        },
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        agent: false,
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${url}: timed out`)));
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

interface Child {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

function spawnChild(command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      // SIGQUIT: nginx's graceful stop; gunicorn's SIGTERM is graceful too.
      child.kill(command === NGINX ? 'SIGQUIT' : 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitFor(what: string, child: Child, probe: () => Promise<boolean>, ms = 60_000) {
  const deadline = performance.now() + ms;
  for (;;) {
    if (child.child.exitCode !== null)
      throw new Error(`${what} exited with ${child.child.exitCode}:\n${child.output()}`);
    if (await probe().catch(() => false)) return;
    if (performance.now() > deadline)
      throw new Error(`${what} did not answer within ${ms / 1000} s:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface ProxyStack {
  readonly database: string;
  /** The proxy's public base URL (https, self-signed), what browsers and Google see. */
  readonly publicUrl: string;
  /** The proxy's plain-HTTP listener (redirects to publicUrl). */
  readonly httpUrl: string;
  /** The certificate to trust for publicUrl. */
  readonly ca: string;
  readonly sidecarUrl: string;
  readonly trytondUrl: string;
  readonly emulator: RunningEmulator;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly db: Knex;
  logs(): string;
  stop(): Promise<void>;
}

export async function startProxyStack(): Promise<ProxyStack> {
  const database = await cloneDatabase(await trytonTemplate(), 'gi_test_deploy');
  const cleanups: (() => Promise<unknown>)[] = [() => dropDatabase(database)];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  const children: Record<string, Child> = {};
  try {
    const db = connect(database);
    cleanups.push(() => db.destroy());

    const folder = join(ROOT, '.cache', `deploy-test-${database}`);
    mkdirSync(join(folder, 'logs'), { recursive: true, mode: 0o700 });
    cleanups.push(async () => rmSync(folder, { recursive: true, force: true }));

    const emulator = await startEmulator();
    cleanups.push(() => emulator.close());

    const [httpPort, httpsPort, trytondPort, sidecarPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const publicUrl = `https://127.0.0.1:${httpsPort}`;

    // The sidecar, told that browsers reach it at the proxy's URL.
    const sidecar: SidecarProcess = await startServe(
      sidecarEnv({
        ...emulatorEndpoints(emulator.url),
        SIDECAR_DATABASES: database,
        SIDECAR_PORT: String(sidecarPort),
        SIDECAR_PUBLIC_URL: publicUrl,
      }),
    );
    cleanups.push(() => sidecar.stop());

    const redirectUri = `${publicUrl}/${database}/google/callback`;
    const { clientId, clientSecret } = await registerClient(emulator.url, [redirectUri]);

    // trytond under gunicorn, the way Tryton documents production: trytond.application:app, its
    // configuration from TRYTOND_CONFIG, the database's pool loaded at start (TRYTOND_DATABASE_NAMES).
    const trytondConf = join(folder, 'trytond.conf');
    writeFileSync(
      trytondConf,
      [
        '[database]',
        `uri = ${POSTGRES_URI}`,
        'list = False',
        // The bus carries the sidecar's notifications to the Tryton client; its URL must be public.
        '[bus]',
        'allow_subscribe = True',
        '[web]',
        // One proxy in front: trytond takes the client's address and scheme from X-Forwarded-*.
        'num_proxies = 1',
        '[google_integration]',
        // trytond reaches the sidecar directly, never through the proxy.
        `sidecar_url = ${sidecar.url}`,
        `sidecar_api_key = ${API_KEY}`,
        `sidecar_public_url = ${publicUrl}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const trytondUrl = `http://127.0.0.1:${trytondPort}`;
    children.trytond = spawnChild(
      GUNICORN,
      [
        '--bind',
        `127.0.0.1:${trytondPort}`,
        '--workers',
        '1',
        '--worker-class',
        'gthread',
        '--threads',
        '4',
        '--timeout',
        '120',
        'trytond.application:app',
      ],
      {
        ...process.env,
        TRYTOND_CONFIG: trytondConf,
        TRYTOND_DATABASE_NAMES: database,
        TRYTOND_LOGGING_LEVEL: '30',
        PYTHONUNBUFFERED: '1',
      },
    );
    cleanups.push(() => children.trytond?.stop() ?? Promise.resolve());
    await waitFor('gunicorn (trytond)', children.trytond, async () => {
      const answer = await request(`${trytondUrl}/rpc/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 0, method: 'common.server.version', params: [] }),
      });
      return answer.status === 200;
    });

    // A throw-away certificate for 127.0.0.1: TLS is the operator's; here it proves the template's
    // TLS server works as written.
    const key = join(folder, 'privkey.pem');
    const cert = join(folder, 'fullchain.pem');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);

    const site = renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
      PROXY_SERVER_NAME: '127.0.0.1',
      PROXY_PUBLIC_URL: publicUrl,
      PROXY_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      PROXY_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
      PROXY_TLS_CERTIFICATE: cert,
      PROXY_TLS_CERTIFICATE_KEY: key,
      PROXY_TRYTOND_UPSTREAM: `127.0.0.1:${trytondPort}`,
      PROXY_SIDECAR_UPSTREAM: `127.0.0.1:${sidecarPort}`,
    });
    writeFileSync(join(folder, 'tryton-google.conf'), site);
    // What nginx.conf of a distribution or of the official image holds around conf.d/, with every
    // path under this test's prefix. Run as root, nginx would hand its workers to `nobody`.
    const user = process.getuid?.() === 0 ? 'user root;\n' : '';
    writeFileSync(
      join(folder, 'nginx.conf'),
      `${user}worker_processes 1;
pid ${join(folder, 'nginx.pid')};
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log ${join(folder, 'logs', 'access.log')};
    client_body_temp_path ${join(folder, 'client_body')};
    proxy_temp_path ${join(folder, 'proxy')};
    fastcgi_temp_path ${join(folder, 'fastcgi')};
    uwsgi_temp_path ${join(folder, 'uwsgi')};
    scgi_temp_path ${join(folder, 'scgi')};
    default_type application/octet-stream;
    include ${join(folder, 'tryton-google.conf')};
}
`,
    );
    const nginxArgs = ['-p', folder, '-c', join(folder, 'nginx.conf'), '-e', 'stderr'];
    await run(NGINX, [...nginxArgs, '-t']).catch((error: { stderr?: string }) => {
      throw new Error(`nginx -t refused the rendered template:\n${error.stderr ?? error}\n${site}`);
    });
    children.nginx = spawnChild(NGINX, [...nginxArgs, '-g', 'daemon off;'], process.env);
    cleanups.push(() => children.nginx?.stop() ?? Promise.resolve());
    const ca = readFileSync(cert, 'utf8');
    await waitFor(
      'nginx',
      children.nginx,
      async () => (await request(`${publicUrl}/rpc`, { ca })).status === 404,
    );

    return {
      database,
      publicUrl,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      ca,
      sidecarUrl: sidecar.url,
      trytondUrl,
      emulator,
      clientId,
      clientSecret,
      redirectUri,
      db,
      logs: () => {
        const access = join(folder, 'logs', 'access.log');
        return [
          `--- nginx\n${children.nginx?.output()}`,
          `--- nginx access\n${existsSync(access) ? readFileSync(access, 'utf8') : ''}`,
          `--- gunicorn (trytond)\n${children.trytond?.output()}`,
          `--- sidecar\n${sidecar.output()}`,
        ].join('\n');
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
