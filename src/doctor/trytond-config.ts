/**
 * Reads what trytond would read for `[google_integration]`: its configuration files (`key = value`
 * or `key: value` per section, `#`/`;` comments, indented continuation lines; as Python's
 * ConfigParser without interpolation, which trytond uses), then the `TRYTOND_GOOGLE_INTEGRATION__*`
 * environment variables, which override the files as they do in trytond.
 */
import { readFileSync } from 'node:fs';
import { delimiter } from 'node:path';

export interface TrytondSidecarOptions {
  readonly files: readonly string[];
  readonly sidecarUrl: string | undefined;
  readonly sidecarApiKey: string | undefined;
  readonly sidecarPublicUrl: string | undefined;
}

const SECTION = 'google_integration';

/** `paths` as trytond's `-c`/TRYTOND_CONFIG (several files separated by the path delimiter); throws what fs throws. */
export function readTrytondOptions(paths: string, env: NodeJS.ProcessEnv): TrytondSidecarOptions {
  const files = paths.split(delimiter).filter((path) => path !== '');
  const options = new Map<string, string>();
  for (const file of files) {
    for (const [key, value] of parseSection(readFileSync(file, 'utf8'), SECTION)) options.set(key, value);
  }
  for (const key of ['sidecar_url', 'sidecar_api_key', 'sidecar_public_url']) {
    const fromEnv = env[`TRYTOND_${SECTION.toUpperCase()}__${key.toUpperCase()}`];
    if (fromEnv !== undefined && fromEnv !== '') options.set(key, fromEnv);
  }
  const get = (key: string) => {
    const value = options.get(key);
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    files,
    sidecarUrl: get('sidecar_url'),
    sidecarApiKey: get('sidecar_api_key'),
    sidecarPublicUrl: get('sidecar_public_url'),
  };
}

/** The options of one section of an INI text (keys lower-cased, as ConfigParser does). */
export function parseSection(text: string, wanted: string): Map<string, string> {
  const options = new Map<string, string>();
  let section: string | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) {
      lastKey = undefined;
      continue;
    }
    if (/^\s/.test(raw) && lastKey !== undefined && section === wanted) {
      options.set(lastKey, `${options.get(lastKey) ?? ''}\n${trimmed}`.trim());
      continue;
    }
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      section = header[1]?.trim();
      lastKey = undefined;
      continue;
    }
    const match = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!match || section !== wanted) {
      lastKey = undefined;
      continue;
    }
    lastKey = (match[1] as string).toLowerCase();
    options.set(lastKey, match[2] as string);
  }
  return options;
}
