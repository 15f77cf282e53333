import { describe, expect, it } from 'vitest';
import { isValidDatabaseName } from '../../src/db/database-name.js';
import { connectionStringFor } from '../../src/db/pools.js';

describe('isValidDatabaseName', () => {
  it.each(['tryton', 'tryton_prod', 'db-2026.11', 'A1'])('accepts %s', (name) => {
    expect(isValidDatabaseName(name)).toBe(true);
  });
  it.each(['', 'a b', 'x;drop', '../etc', 'é', '-leading', 'a'.repeat(64), 'x"y', 42, null])(
    'refuses %s',
    (name) => {
      expect(isValidDatabaseName(name)).toBe(false);
    },
  );
});

describe('connectionStringFor', () => {
  it('keeps the server part of DATABASE_URI and sets the database', () => {
    expect(connectionStringFor('postgresql://u:p%40ss@db.example:6432/?sslmode=require', 'tryton')).toBe(
      'postgresql://u:p%40ss@db.example:6432/tryton?sslmode=require',
    );
    expect(connectionStringFor('postgresql://u@h:5432/ignored', 'x')).toBe('postgresql://u@h:5432/x');
  });
});
