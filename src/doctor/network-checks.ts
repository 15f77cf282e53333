/**
 * The doctor's checks over HTTP: Google's endpoints answer (any HTTP status counts: the host is
 * reachable), and trytond reaches this sidecar with the right key (its configuration's sidecar_url
 * answers /healthz and accepts sidecar_api_key; sidecar_public_url agrees with SIDECAR_PUBLIC_URL).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { type Finding, ok, problem, skipped } from './report.js';
import { readTrytondOptions } from './trytond-config.js';

const PROBE_TIMEOUT_MS = 5_000;

export async function checkGoogle(config: Config): Promise<Finding[]> {
  const endpoints = [
    ['GOOGLE_TOKEN_URL', config.google.tokenUrl],
    ['GOOGLE_AUTH_URL', config.google.authUrl],
    ['GOOGLE_REVOKE_URL', config.google.revokeUrl],
    ['GOOGLE_USERINFO_URL', config.google.userinfoUrl],
    ['GOOGLE_API_ROOT_URL', config.google.apiRootUrl],
  ] as const;
  const timeoutMs = Math.min(config.googleTimeoutMs, PROBE_TIMEOUT_MS);
  return Promise.all(
    endpoints.map(async ([variable, url]): Promise<Finding> => {
      const shown = withoutCredentials(url);
      try {
        const response = await fetch(url, {
          method: 'HEAD',
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        return ok('google', variable, `${shown} answers (HTTP ${response.status})`);
      } catch (error) {
        return problem(
          'google',
          variable,
          `${shown} does not answer: ${networkFailure(error, timeoutMs)}`,
          `let this host reach ${new URL(url).host} over HTTPS (DNS, firewall, proxy), or correct ${variable}; offline, point the GOOGLE_*_URL variables at tryton-google emulator`,
        );
      }
    }),
  );
}

/** `paths`: --trytond-config or TRYTOND_CONFIG; undefined when neither is given. */
export async function checkTrytond(
  config: Config,
  paths: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Finding[]> {
  const fromEnv = Boolean(env.TRYTOND_GOOGLE_INTEGRATION__SIDECAR_URL);
  if (paths === undefined && !fromEnv) {
    return [
      skipped(
        'trytond',
        undefined,
        'no trytond configuration given, so whether trytond reaches the sidecar is not checked',
        "pass --trytond-config PATH (trytond's configuration file) or set TRYTOND_CONFIG",
      ),
    ];
  }
  let options: ReturnType<typeof readTrytondOptions>;
  try {
    options = readTrytondOptions(paths ?? '', env);
  } catch (error) {
    return [
      problem(
        'trytond',
        undefined,
        `cannot read trytond's configuration ${paths}: ${error instanceof Error ? error.message : String(error)}`,
        "give the path of trytond's configuration file (as trytond's -c or TRYTOND_CONFIG)",
      ),
    ];
  }
  const where =
    options.files.length > 0
      ? `[google_integration] of ${options.files.join(', ')}`
      : 'TRYTOND_GOOGLE_INTEGRATION__*';
  const findings: Finding[] = [];

  let reachable = false;
  const url = options.sidecarUrl?.replace(/\/+$/, '');
  if (url === undefined) {
    findings.push(
      problem(
        'trytond',
        'sidecar_url',
        `${where} has no sidecar_url`,
        `set sidecar_url = http://${config.host}:${config.port} (where the sidecar listens, as trytond's host sees it)`,
      ),
    );
  } else if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    findings.push(
      problem(
        'trytond',
        'sidecar_url',
        `sidecar_url in ${where} is not an http(s) URL`,
        'set it to the http(s) URL of the sidecar',
      ),
    );
  } else {
    const shown = withoutCredentials(url);
    const fix = `start the sidecar (tryton-google serve, listening on SIDECAR_HOST:SIDECAR_PORT, now ${config.host}:${config.port}) where trytond can reach it, or correct sidecar_url in ${where}`;
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const body = (await response.json().catch(() => undefined)) as { status?: unknown } | undefined;
      if (response.ok && body?.status === 'ok') {
        reachable = true;
        findings.push(ok('trytond', 'sidecar_url', `${shown} answers /healthz`));
      } else {
        findings.push(
          problem(
            'trytond',
            'sidecar_url',
            `${shown}/healthz answers HTTP ${response.status}, not the sidecar's {"status":"ok"}`,
            fix,
          ),
        );
      }
    } catch (error) {
      findings.push(
        problem(
          'trytond',
          'sidecar_url',
          `${shown} does not answer /healthz: ${networkFailure(error, PROBE_TIMEOUT_MS)}`,
          fix,
        ),
      );
    }
  }

  const key = options.sidecarApiKey;
  const setKey = `set sidecar_api_key in ${where} to the value of SIDECAR_API_KEY, then restart trytond`;
  if (key === undefined) {
    findings.push(problem('trytond', 'sidecar_api_key', `${where} has no sidecar_api_key`, setKey));
  } else if (!sameSecret(key, config.apiKey)) {
    findings.push(
      problem(
        'trytond',
        'sidecar_api_key',
        `sidecar_api_key in ${where} differs from SIDECAR_API_KEY (neither is shown): the sidecar would answer trytond 401`,
        setKey,
      ),
    );
  } else if (reachable && url !== undefined) {
    findings.push(await keyAccepted(url, key));
  } else {
    findings.push(ok('trytond', 'sidecar_api_key', 'equals SIDECAR_API_KEY'));
  }

  const publicUrl = (options.sidecarPublicUrl ?? options.sidecarUrl)?.replace(/\/+$/, '');
  if (publicUrl !== undefined && publicUrl !== config.publicUrl) {
    const option =
      options.sidecarPublicUrl === undefined
        ? 'sidecar_url (no sidecar_public_url is set)'
        : 'sidecar_public_url';
    findings.push(
      problem(
        'trytond',
        'sidecar_public_url',
        `trytond proposes redirect URIs under ${option} ${publicUrl}, but SIDECAR_PUBLIC_URL is ${config.publicUrl}`,
        `set sidecar_public_url = ${config.publicUrl} in ${where} (or correct SIDECAR_PUBLIC_URL)`,
      ),
    );
  } else if (publicUrl !== undefined) {
    findings.push(
      ok('trytond', 'sidecar_public_url', 'trytond proposes redirect URIs under SIDECAR_PUBLIC_URL'),
    );
  }
  return findings;
}

/** Asks the running sidecar whether it takes the key (it may run with another environment than ours). */
async function keyAccepted(url: string, key: string): Promise<Finding> {
  try {
    const response = await fetch(`${url}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    if (response.status === 401) {
      return problem(
        'trytond',
        'sidecar_api_key',
        `equals SIDECAR_API_KEY, but the sidecar at ${withoutCredentials(url)} refuses it: it runs with another SIDECAR_API_KEY`,
        'restart that sidecar with this environment, or make both keys equal to the one it runs with',
      );
    }
    return ok('trytond', 'sidecar_api_key', 'equals SIDECAR_API_KEY and the sidecar accepts it');
  } catch (error) {
    return ok(
      'trytond',
      'sidecar_api_key',
      `equals SIDECAR_API_KEY (the sidecar's /rpc did not answer: ${networkFailure(error, PROBE_TIMEOUT_MS)})`,
    );
  }
}

function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function withoutCredentials(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}

function networkFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
