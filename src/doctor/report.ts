/** What `tryton-google doctor` found: one finding per check, printed for a person or as JSON. */

export type Status = 'ok' | 'problem' | 'skipped';

export interface Finding {
  /** Which check: configuration, database, migrations, module, keys, redirect-uris, google, trytond. */
  readonly check: string;
  /** What it was about (a database, an endpoint), when the check runs more than once. */
  readonly subject?: string;
  readonly status: Status;
  /** What was found, in words; never a secret. */
  readonly message: string;
  /** What to do about a problem (or, for a skipped check, how to have it run). */
  readonly fix?: string;
}

export const ok = (check: string, subject: string | undefined, message: string): Finding =>
  subject === undefined ? { check, status: 'ok', message } : { check, subject, status: 'ok', message };

export function problem(check: string, subject: string | undefined, message: string, fix: string): Finding {
  return subject === undefined
    ? { check, status: 'problem', message, fix }
    : { check, subject, status: 'problem', message, fix };
}

export function skipped(check: string, subject: string | undefined, message: string, fix?: string): Finding {
  const finding: Finding =
    subject === undefined
      ? { check, status: 'skipped', message }
      : { check, subject, status: 'skipped', message };
  return fix === undefined ? finding : { ...finding, fix };
}

/** One line per finding: `problem  migrations gi_x: 2 not applied. Fix: ...`, then a summary line. */
export function formatText(findings: readonly Finding[]): string {
  const lines = findings.map((finding) => {
    const label = finding.subject ? `${finding.check} ${finding.subject}` : finding.check;
    const fix = finding.fix ? `. ${finding.status === 'skipped' ? 'To check' : 'Fix'}: ${finding.fix}` : '';
    return `${finding.status.padEnd(8)} ${label}: ${finding.message}${fix}`;
  });
  const count = (status: Status) => findings.filter((finding) => finding.status === status).length;
  const problems = count('problem');
  lines.push(
    problems === 0
      ? `all well: ${count('ok')} ok, ${count('skipped')} skipped`
      : `${problems} problem${problems === 1 ? '' : 's'}, ${count('ok')} ok, ${count('skipped')} skipped`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatJson(findings: readonly Finding[], exitCode: number): string {
  const status = findings.some((finding) => finding.status === 'problem') ? 'problem' : 'ok';
  return `${JSON.stringify({ status, exit_code: exitCode, checks: findings }, null, 2)}\n`;
}
