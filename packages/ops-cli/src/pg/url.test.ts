import { redact, UsageError } from '@dmskit/shared';
import { describe, expect, it } from 'vitest';
import { parseConnectionUrl, toConninfo, urlWithDatabase, urlWithoutPassword } from './url.js';

describe('connection URLs', () => {
  it('parses host, port, database, user, password and sslmode', () => {
    expect(parseConnectionUrl('postgres://app:p%40ss@db:6432/shop?sslmode=require', '--source-url')).toEqual({
      host: 'db',
      port: 6432,
      database: 'shop',
      user: 'app',
      password: 'p@ss',
      sslmode: 'require',
    });
  });

  it('refuses what is not a PostgreSQL URL, naming the flag', () => {
    expect(() => parseConnectionUrl('mysql://x/y', '--target-url')).toThrowError(
      new UsageError('--target-url: expected a postgres://user@host:port/database URL'),
    );
    expect(() => parseConnectionUrl('postgres://host', '--source-url')).toThrowError(
      '--source-url: the URL has no database name',
    );
  });

  it('builds a libpq conninfo with quotes and backslashes escaped', () => {
    const info = toConninfo({
      host: 'h',
      port: 5432,
      database: "o'brien",
      user: 'u',
      password: "a\\b'c",
      sslmode: undefined,
    });
    expect(info).toBe("host='h' port='5432' dbname='o\\'brien' user='u' password='a\\\\b\\'c'");
    expect(redact(info)).toBe("host='h' port='5432' dbname='o\\'brien' user='u' password=***");
  });

  it('drops the password or swaps the database', () => {
    expect(urlWithoutPassword('postgres://u:secret@h:1/d')).toBe('postgres://u@h:1/d');
    expect(urlWithDatabase('postgres://u:secret@h:1/d', 'other db')).toBe(
      'postgres://u:secret@h:1/other%20db',
    );
  });
});
