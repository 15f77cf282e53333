/**
 * What a calendar says when its pull fails (src/services/calendar/pull-failure.ts): one short
 * sentence, never a driver's or SQL text (a failed INSERT once put 2.8 kB of SQL in last_error).
 */
import { describe, expect, it } from 'vitest';
import { ErrorType, SidecarError } from '../../src/errors.js';
import { GoogleError } from '../../src/google/errors.js';
import { failureText, UNEXPECTED } from '../../src/services/calendar/pull-failure.js';

describe('the sentence of a failed pull', () => {
  it('is the sidecar error message as it is', () => {
    const error = new SidecarError(
      ErrorType.ScopeNotGranted,
      'credential 3 was not granted the calendar scope',
    );
    expect(failureText(3, error)).toBe('credential 3 was not granted the calendar scope');
  });

  it('says the database was unavailable, with the reason but no SQL', () => {
    const error = Object.assign(
      new Error('INSERT INTO google_integration_event (...) VALUES (...) - terminating connection'),
      {
        code: '57P01',
      },
    );
    expect(failureText(3, error)).toBe(
      'The database was unavailable during the pull (SQLSTATE 57P01); it is pulled again later.',
    );
  });

  it('hides an error the sidecar does not classify behind a short sentence', () => {
    const sql = `INSERT INTO google_integration_event ${'(x) '.repeat(700)}- date/time field value out of range`;
    const error = Object.assign(new Error(sql), { code: '22008' });
    expect(failureText(3, error)).toBe(UNEXPECTED);
    expect(failureText(3, 'a string')).toBe(UNEXPECTED);
  });

  it('turns a Google failure into the documented error of the credential', () => {
    const text = failureText(
      3,
      new GoogleError('Google answered 503 to events.list', 503, 'backendError', true),
    );
    expect(text).toMatch(/^Google/);
    expect(text).toContain('Google answered 503 to events.list');
    expect(text.length).toBeLessThanOrEqual(500);
  });
});
