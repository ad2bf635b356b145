import { describe, expect, it } from 'vitest';
import { qualifiedName } from './catalog.js';
import type { ComparisonResult } from './compare.js';
import { describeConnection } from './connection.js';
import { comparisonJUnit } from './reports.js';
import { comparisonMarkdown, verdictLine } from './summary.js';

describe('qualifiedName', () => {
  it('quotes both parts', () => {
    expect(qualifiedName({ schema: 'Sales', table: 'order "items"' })).toBe('"Sales"."order ""items"""');
  });
});

describe('describeConnection', () => {
  it('names host, port and database, never the password', () => {
    expect(describeConnection('postgres://app:s3cret@db.example:6432/shop')).toBe('db.example:6432/shop');
    expect(describeConnection({ host: 'h', port: 5, database: 'd', password: 'p' })).toBe('h:5/d');
  });
});

describe('reports', () => {
  const result: ComparisonResult = {
    verdict: 'different',
    durationMs: 12,
    schema: [
      { kind: 'column', object: 'public.b.n', difference: 'different', source: 'integer', target: 'bigint' },
    ],
    hashMode: 'typed',
    checksumFold: 'xor',
    notes: [],
    hashModeReason: 'agrees',
    bytesReceived: { source: 10, target: 10 },
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
        chunks: 4,
        method: 'key-hash',
        key: { columns: ['id'], from: 'unique-index' },
        differences: [
          { kind: 'missing-on-target', key: { id: '7' } },
          { kind: 'different', key: { id: '9' }, columns: [{ name: 'v', source: 'a', target: null }] },
        ],
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
      'DIFFERENT: the schema or at least one table differs (1 equal, 1 different, 1 missing on target, 1 schema difference(s); 12ms)',
    );
  });

  it('renders Markdown with schema differences, escaped pipes and the differing rows', () => {
    const md = comparisonMarkdown(result);
    expect(md).toContain('| column | public.b.n | different | integer | bigint |');
    expect(md).toContain(
      '| public.b | different | 3 | 2 | 4 by key-hash (unique index id) | row count differs \\| x |',
    );
    expect(md).toContain('- missing-on-target: public.b (id=7)');
    expect(md).toContain('- different: public.b (id=9): v: "a" -> null');
  });

  it('renders JUnit XML: one case per table and one for the schema', () => {
    const junit = comparisonJUnit(result);
    expect(junit).toContain('<testsuite name="validation" tests="4" failures="3" errors="0" skipped="0">');
    expect(junit).toContain('<testcase classname="data" name="public.a"/>');
    expect(junit).toContain(
      '<testcase classname="data" name="public.b"><failure message="different">row count differs | x\nmissing-on-target: public.b (id=7)',
    );
  });
});
