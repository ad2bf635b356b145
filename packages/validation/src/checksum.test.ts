import { describe, expect, it } from 'vitest';
import { qualifiedName, tableChecksumSql } from './checksum.js';
import type { ComparisonResult } from './compare.js';
import { describeConnection } from './connection.js';
import { comparisonMarkdown, verdictLine } from './summary.js';

describe('tableChecksumSql', () => {
  it('quotes every identifier and hashes the row constructor with two seeds', () => {
    const sql = tableChecksumSql({ schema: 'Sales', table: 'order "items"' }, ['id', 'Total']);
    expect(sql).toContain('FROM ONLY "Sales"."order ""items"""');
    expect(sql).toContain('hashtextextended(ROW("id", "Total")::text, 0)');
    expect(sql).toContain('hashtextextended(ROW("id", "Total")::text, 1)');
    expect(qualifiedName({ schema: 'public', table: 'x' })).toBe('"public"."x"');
  });
});

describe('describeConnection', () => {
  it('names host, port and database, never the password', () => {
    expect(describeConnection('postgres://app:s3cret@db.example:6432/shop')).toBe('db.example:6432/shop');
    expect(describeConnection({ host: 'h', port: 5, database: 'd', password: 'p' })).toBe('h:5/d');
  });
});

describe('summary', () => {
  const result: ComparisonResult = {
    verdict: 'different',
    durationMs: 12,
    counts: { equal: 1, different: 1, 'missing-on-target': 1, 'missing-on-source': 0, skipped: 0, error: 0 },
    tables: [
      {
        table: { schema: 'public', table: 'a' },
        status: 'equal',
        source: { rows: 3, checksum: '1/2' },
        target: { rows: 3, checksum: '1/2' },
        reasons: [],
      },
      {
        table: { schema: 'public', table: 'b' },
        status: 'different',
        source: { rows: 3, checksum: '1/2' },
        target: { rows: 2, checksum: '1/3' },
        reasons: ['row count differs | x'],
      },
      {
        table: { schema: 'public', table: 'c' },
        status: 'missing-on-target',
        reasons: ['public.c does not exist on the target'],
      },
    ],
  };

  it('says the verdict and counts in one line', () => {
    expect(verdictLine(result)).toBe(
      'DIFFERENT: at least one table differs (1 equal, 1 different, 1 missing on target; 12 ms)',
    );
  });

  it('renders a Markdown table with escaped pipes', () => {
    const md = comparisonMarkdown(result);
    expect(md).toContain('| public.b | different | 3 | 2 | row count differs \\| x |');
    expect(md).toContain('| public.c | missing-on-target |  |  | public.c does not exist on the target |');
  });
});
