/**
 * docker-compose.yml cannot run here (no Docker): this reads it and checks that everything it uses
 * is something the project has and documents: the sidecar's variables (src/config.ts and
 * docs/contracts.md), trytond's [google_integration] options, the `tryton-google` subcommands
 * (src/cli.ts), the files it mounts, builds and COPYs, the proxy template's placeholders, and that
 * .env.example lists exactly what compose interpolates.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/tryton.js';
import { parseYaml, type YamlValue } from './support/mini-yaml.js';
import { placeholders, TEMPLATE } from './support/proxy-stack.js';

type Map = { [key: string]: YamlValue };
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const COMPOSE_TEXT = read('docker-compose.yml');
const compose = parseYaml(COMPOSE_TEXT) as Map;
const services = compose.services as { [name: string]: Map };
const DEPLOYMENT_DOC = read('docs/deployment.md');

function environment(service: string): Record<string, string> {
  const env = services[service]?.environment;
  if (env === undefined || env === null) return {};
  if (Array.isArray(env)) throw new Error(`${service}: write environment as a mapping`);
  return Object.fromEntries(Object.entries(env as Map).map(([key, value]) => [key, String(value)]));
}

/** ${NAME}, ${NAME:-default}, ${NAME:?message}, ... in a compose string. */
const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])[^}]*)?\}/g;

function interpolated(text: string): string[] {
  return [...new Set([...text.matchAll(INTERPOLATION)].map((match) => match[1] as string))].sort();
}

/** The keys of the zod object `envSchema` in src/config.ts. */
function configSchemaKeys(): string[] {
  const source = read('src/config.ts');
  const start = source.indexOf('const envSchema = z.object({');
  expect(start, 'src/config.ts declares envSchema').toBeGreaterThan(-1);
  const body = source.slice(start, source.indexOf('\n});', start));
  return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1] as string);
}

/** The first column of the table under `heading` in docs/contracts.md. */
function contractsTable(heading: string): string[] {
  const text = read('docs/contracts.md');
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `docs/contracts.md has "${heading}"`).toBeGreaterThan(-1);
  const section = text.slice(start + heading.length + 2).split(/\n#{1,4} /)[0] as string;
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] as string);
}

function cliCommands(): string[] {
  const source = read('src/cli.ts');
  const body = source.slice(source.indexOf('switch (command)'));
  return [...body.matchAll(/case '([a-z][a-z-]*)':/g)].map((match) => match[1] as string);
}

/** The executable a compose command (list or string) starts with, and its arguments. */
function commandOf(value: YamlValue | undefined): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  return String(value).split(/\s+/);
}

/** Dockerfile instructions, continuation lines joined. */
function instructions(dockerfile: string): { name: string; args: string }[] {
  return readFileSync(dockerfile, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [name, ...rest] = line.split(/\s+/);
      return { name: (name as string).toUpperCase(), args: rest.join(' ') };
    });
}

function jsonOrShell(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
}

interface Build {
  readonly context: string;
  readonly dockerfile: string;
}

function buildOf(service: string): Build | undefined {
  const build = services[service]?.build;
  if (build === undefined) return undefined;
  if (typeof build === 'string')
    return { context: join(ROOT, build), dockerfile: join(ROOT, build, 'Dockerfile') };
  const map = build as Map;
  const context = join(ROOT, String(map.context ?? '.'));
  return { context, dockerfile: join(context, String(map.dockerfile ?? 'Dockerfile')) };
}

describe('docker-compose.yml', () => {
  it('parses and holds the deployment services', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['postgres', 'proxy', 'sidecar', 'trytond', 'trytond-cron', 'tryton-init'].sort(),
    );
    expect(COMPOSE_TEXT).not.toMatch(/\$[A-Za-z_]/); // only ${...} interpolation, never bare $NAME
    expect(COMPOSE_TEXT).not.toMatch(/\t/);
  });

  it('.env.example lists exactly the variables compose interpolates, and the doc explains each', () => {
    const used = interpolated(COMPOSE_TEXT);
    const listed = [...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map(
      (match) => match[1] as string,
    );
    expect(new Set(listed).size, 'no variable listed twice').toBe(listed.length);
    expect([...listed].sort()).toEqual(used);
    for (const name of used) expect(DEPLOYMENT_DOC, `docs/deployment.md explains ${name}`).toContain(name);
    // A required variable (${NAME:?...}) is one without a usable default: .env.example must not set a
    // secret, only show where it goes.
    for (const name of [
      'SIDECAR_API_KEY',
      'SIDECAR_ENCRYPTION_KEYS',
      'POSTGRES_PASSWORD',
      'TRYTON_ADMIN_PASSWORD',
    ]) {
      expect(read('.env.example')).toMatch(new RegExp(`^${name}=$`, 'm'));
    }
  });

  it('gives the sidecar only variables of src/config.ts and the contracts, and all it requires', () => {
    const schema = configSchemaKeys();
    const documented = contractsTable('### Sidecar environment');
    expect(schema.length).toBeGreaterThan(10);
    const everywhere = new Set<string>(interpolated(COMPOSE_TEXT));
    for (const service of Object.keys(services))
      for (const key of Object.keys(environment(service))) everywhere.add(key);
    const sidecarish = [...everywhere].filter(
      (name) => /^(SIDECAR_|GOOGLE_)/.test(name) || name === 'DATABASE_URI',
    );
    expect(sidecarish).toContain('SIDECAR_ENCRYPTION_KEYS');
    for (const name of [...sidecarish, ...Object.keys(environment('sidecar'))]) {
      expect(schema, `${name} in src/config.ts`).toContain(name);
      expect(documented, `${name} in docs/contracts.md, Sidecar environment`).toContain(name);
    }
    // every variable the contracts call required is set
    const contracts = read('docs/contracts.md');
    const required = [...contracts.matchAll(/^\| `([A-Z_]+)` \| yes \|/gm)].map(
      (match) => match[1] as string,
    );
    expect(required).toEqual(expect.arrayContaining(['DATABASE_URI', 'SIDECAR_API_KEY']));
    for (const name of required) expect(Object.keys(environment('sidecar')), name).toContain(name);
  });

  it("gives trytond only documented [google_integration] options, consistent with the sidecar's", () => {
    const options = contractsTable('### trytond: `[google_integration]`');
    expect(options).toContain('sidecar_url');
    const sidecar = environment('sidecar');
    for (const service of ['trytond', 'trytond-cron']) {
      const env = environment(service);
      for (const [key, value] of Object.entries(env)) {
        const match = /^TRYTOND_GOOGLE_INTEGRATION__([A-Z_]+)$/.exec(key);
        if (match) expect(options, `${service}: ${key}`).toContain((match[1] as string).toLowerCase());
        else if (key.startsWith('TRYTOND_'))
          expect(DEPLOYMENT_DOC, `${service}: ${key} documented`).toContain(key);
        else expect.fail(`${service}: ${key} is not a trytond setting`);
        expect(value).not.toBe('');
      }
      expect(env.TRYTOND_GOOGLE_INTEGRATION__SIDECAR_API_KEY).toBe(sidecar.SIDECAR_API_KEY);
      expect(env.TRYTOND_GOOGLE_INTEGRATION__SIDECAR_PUBLIC_URL).toBe(sidecar.SIDECAR_PUBLIC_URL);
      expect(env.TRYTOND_GOOGLE_INTEGRATION__SIDECAR_URL).toBe(`http://sidecar:${sidecar.SIDECAR_PORT}`);
      expect(env.TRYTOND_DATABASE__URI).toBe(sidecar.DATABASE_URI);
    }
    // trytond serves the database the sidecar serves, which tryton-init made
    const init = environment('tryton-init');
    expect(environment('trytond').TRYTOND_DATABASE_NAMES).toBe(init.TRYTON_DATABASE);
    expect(sidecar.SIDECAR_DATABASES).toBe(init.TRYTON_DATABASE);
    expect(init.TRYTOND_DATABASE__URI).toBe(sidecar.DATABASE_URI);
    for (const key of Object.keys(init)) {
      if (key.startsWith('TRYTON_'))
        expect(read('deploy/trytond/init.sh'), `init.sh reads ${key}`).toContain(key);
      else expect(key).toMatch(/^TRYTOND_/);
    }
  });

  it('points the proxy at the services and fills every placeholder of the template', () => {
    const proxy = environment('proxy');
    const template = readFileSync(TEMPLATE, 'utf8');
    expect(Object.keys(proxy).sort()).toEqual(placeholders(template));
    expect(proxy.PROXY_PUBLIC_URL).toBe(environment('sidecar').SIDECAR_PUBLIC_URL);
    expect(proxy.PROXY_SIDECAR_UPSTREAM).toBe(`sidecar:${environment('sidecar').SIDECAR_PORT}`);
    expect(proxy.PROXY_TRYTOND_UPSTREAM).toBe('trytond:8000');
    const volumes = ((services.proxy?.volumes ?? []) as YamlValue[]).map(String);
    expect(volumes).toContain(
      `./deploy/nginx/tryton-google.conf.template:/etc/nginx/templates/default.conf.template:ro`,
    );
    const tls = volumes.find((volume) => volume.endsWith(':/etc/nginx/tls:ro'));
    expect(tls, 'the TLS folder is mounted').toBeDefined();
    for (const key of ['PROXY_TLS_CERTIFICATE', 'PROXY_TLS_CERTIFICATE_KEY']) {
      expect(proxy[key]).toMatch(/^\/etc\/nginx\/tls\/[a-z]+\.pem$/);
    }
    // the sidecar's private routes are published by no service
    expect(services.sidecar?.ports).toBeUndefined();
    expect(services.trytond?.ports).toBeUndefined();
  });

  it('mounts, builds and COPYs only files that exist', () => {
    const named = Object.keys((compose.volumes as Map | undefined) ?? {});
    for (const [name, service] of Object.entries(services)) {
      for (const volume of (service.volumes as YamlValue[] | undefined) ?? []) {
        const [source] = String(volume).split(':');
        if (source === undefined || source.startsWith('${')) continue; // the operator's (e.g. TLS)
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(join(ROOT, source as string)), `${name}: ${source}`).toBe(true);
        } else {
          expect(named, `${name}: volume ${source} declared`).toContain(source);
        }
      }
      const build = buildOf(name);
      if (!build) continue;
      expect(statSync(build.context).isDirectory(), `${name}: build context`).toBe(true);
      expect(existsSync(build.dockerfile), `${name}: ${build.dockerfile}`).toBe(true);
      for (const { name: instruction, args } of instructions(build.dockerfile)) {
        if (instruction !== 'COPY' && instruction !== 'ADD') continue;
        const parts = args.split(/\s+/).filter((part) => !part.startsWith('--'));
        for (const source of parts.slice(0, -1)) {
          expect(existsSync(join(build.context, source)), `${name}: COPY ${source}`).toBe(true);
        }
      }
    }
  });

  it('runs only commands that exist: tryton-google subcommands, trytond scripts, the init script', () => {
    const subcommands = cliCommands();
    expect(subcommands).toEqual(expect.arrayContaining(['serve', 'migrate', 'rotate-keys']));
    const venvBin = join(process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv'), 'bin');
    for (const [name, service] of Object.entries(services)) {
      const build = buildOf(name);
      const command = commandOf(service.command);
      if (build && command) {
        const steps = instructions(build.dockerfile);
        const entrypoint = steps.findLast((step) => step.name === 'ENTRYPOINT');
        if (entrypoint && jsonOrShell(entrypoint.args).join(' ') === 'node bin/tryton-google.js') {
          expect(subcommands, `${name}: tryton-google ${command[0]}`).toContain(command[0]);
        } else {
          const executable = command[0] as string;
          const installed = steps.some(
            (step) => step.name === 'COPY' && step.args.endsWith(`/usr/local/bin/${executable}`),
          );
          // trytond's own scripts: the same trytond 8.0 as the project's virtualenv has
          const trytondScript =
            /^trytond(-[a-z]+)?$/.test(executable) && existsSync(join(venvBin, executable));
          expect(installed || trytondScript, `${name}: ${executable}`).toBe(true);
          expect(DEPLOYMENT_DOC, `${name}: ${executable} documented`).toContain(executable);
        }
      }
      if (name === 'trytond-cron')
        expect(command?.slice(1)).toEqual(['-d', environment('tryton-init').TRYTON_DATABASE]);
    }
    // The sidecar image's entry point and default command.
    const steps = instructions(join(ROOT, 'Dockerfile'));
    const entrypoint = jsonOrShell(steps.findLast((step) => step.name === 'ENTRYPOINT')?.args ?? '[]');
    expect(entrypoint).toEqual(['node', 'bin/tryton-google.js']);
    expect(existsSync(join(ROOT, entrypoint[1] as string))).toBe(true);
    const cmd = jsonOrShell(steps.findLast((step) => step.name === 'CMD')?.args ?? '[]');
    expect(subcommands).toContain(cmd[0]);
    // init.sh is a POSIX sh script that is executable
    const init = join(ROOT, 'deploy', 'trytond', 'init.sh');
    expect(statSync(init).mode & 0o111).not.toBe(0);
    expect(readFileSync(init, 'utf8').split('\n')[0]).toBe('#!/bin/sh');
    expect(dirname(init)).toBe(join(ROOT, 'deploy', 'trytond'));
  });
});

describe('the YAML reader of this test', () => {
  it('reads the subset compose uses and refuses what it does not know', () => {
    expect(
      parseYaml('a: {b: [1, "x y", {c: d}]}\nl:\n- k: v\n  m: []\n- plain # note\n- "q # kept"\n'),
    ).toEqual({
      a: { b: [1, 'x y', { c: 'd' }] },
      l: [{ k: 'v', m: [] }, 'plain', 'q # kept'],
    });
    expect(() => parseYaml('a: &anchor 1\nb: *anchor\n')).toThrow(/unsupported/);
    expect(() => parseYaml('a: |\n  text\n')).toThrow(/unsupported/);
    expect(() => parseYaml('a: 1\na: 2\n')).toThrow(/duplicate/);
  });
});
