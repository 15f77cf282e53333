/**
 * `tryton-google doctor`: checks the configuration, each database, the encryption keys against the
 * stored tokens, the credentials' redirect URIs, Google's endpoints and trytond's way to the sidecar,
 * and prints one line per check (`ok`, `problem` or `skipped`, with the fix), or JSON with --json.
 * Exit code: 0 all well, 1 a problem, 78 an invalid configuration (as `serve`). Never writes to a
 * database and never prints a secret.
 */
import { parseArgs } from 'node:util';
import { ConfigError, type Config, loadConfig } from '../config.js';
import { TokenCipher } from '../crypto/token-cipher.js';
import { isValidDatabaseName } from '../db/database-name.js';
import { checkDatabase, databasesToCheck } from './database-checks.js';
import { checkGoogle, checkTrytond } from './network-checks.js';
import { type Finding, formatJson, formatText, ok, problem, skipped } from './report.js';

export const DOCTOR_USAGE = `usage: tryton-google doctor [--database NAME]... [--trytond-config PATH] [--json]
                            [--environment-file PATH]

  --database NAME          check NAME (repeatable); default: SIDECAR_DATABASES, else every served database
  --trytond-config PATH    trytond's configuration file (default: TRYTOND_CONFIG), to check that trytond
                           reaches the sidecar ([google_integration] sidecar_url, sidecar_api_key)
  --json                   print the findings as JSON
  --environment-file PATH  read KEY=value lines from PATH first; its variables replace the environment's

Reads the sidecar's environment as serve does (tryton-google serve --help lists it). The running demo
(npm start): tryton-google doctor --environment-file .cache/demo/sidecar.env
Exit code: 0 all well, 1 a problem, 78 invalid configuration.
`;

const EXAMPLES: Record<string, string> = {
  DATABASE_URI: "DATABASE_URI=postgresql://tryton:PASSWORD@localhost:5432/ (as trytond's [database] uri)",
  SIDECAR_API_KEY: "SIDECAR_API_KEY=$(openssl rand -hex 32), the same value as trytond's sidecar_api_key",
  SIDECAR_PUBLIC_URL:
    'SIDECAR_PUBLIC_URL=https://tryton.example.com/google-sidecar, where browsers reach the sidecar',
  SIDECAR_ENCRYPTION_KEYS:
    'SIDECAR_ENCRYPTION_KEYS=$(openssl rand -base64 32), the current key first, older ones after a comma',
};

export class DoctorUsageError extends TypeError {
  readonly code = 'ERR_DOCTOR_USAGE';
}

/** Runs every check and writes the report to `write`; resolves to the exit code. */
export async function runDoctor(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      database: { type: 'string', multiple: true },
      'trytond-config': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const bad = (values.database ?? []).filter((name) => !isValidDatabaseName(name));
  if (bad.length > 0) throw new DoctorUsageError(`invalid database name(s): ${bad.join(', ')}`);
  const findings: Finding[] = [];
  let exitCode: number;
  let config: Config | undefined;
  try {
    config = loadConfig(env, 'serve');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    findings.push(...configurationProblems(error));
  }
  if (config === undefined) {
    findings.push(
      skipped(
        'databases, keys, redirect URIs, Google, trytond',
        undefined,
        'not checked while the configuration is invalid',
      ),
    );
    exitCode = 78;
  } else {
    findings.push(ok('configuration', undefined, 'every variable is valid'));
    findings.push(
      ...(await runChecks(config, values.database, values['trytond-config'] ?? env.TRYTOND_CONFIG, env)),
    );
    exitCode = findings.some((finding) => finding.status === 'problem') ? 1 : 0;
  }
  write(values.json ? formatJson(findings, exitCode) : formatText(findings));
  return exitCode;
}

async function runChecks(
  config: Config,
  named: readonly string[] | undefined,
  trytondConfig: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Finding[]> {
  const cipher = new TokenCipher(config.encryptionKeys);
  // The network checks run while the databases are examined one after the other.
  const network = Promise.all([checkGoogle(config), checkTrytond(config, trytondConfig || undefined, env)]);
  const { names, findings } = await databasesToCheck(config, named);
  for (const database of names) findings.push(...(await checkDatabase(config, cipher, database)));
  const [google, trytond] = await network;
  return [...findings, ...google, ...trytond];
}

/** One finding per bad variable, with an example where the variable is a required one. */
function configurationProblems(error: ConfigError): Finding[] {
  return error.problems.map((text) => {
    const separator = text.indexOf(': ');
    const variable = separator > 0 ? text.slice(0, separator) : 'environment';
    const message = separator > 0 ? text.slice(separator + 2) : text;
    const example = EXAMPLES[variable];
    return problem(
      'configuration',
      variable,
      message,
      example
        ? `set ${example}`
        : `set ${variable} as README.md's Configuration table says, or unset it for its default`,
    );
  });
}
