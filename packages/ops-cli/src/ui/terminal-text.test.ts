import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { preflightMarkdown } from '../preflight/run.js';
import { markdownForTerminal } from './terminal-text.js';

const md = `# Rehearsal of shop (native engine)

**Validation: EQUAL** over \`6\` tables

| table | source rows | target rows | status |
| --- | ---: | ---: | --- |
| public.orders | 10152 | 10152 | equal |
| public.a\\|b | 1 | 2 | differs |
`;

describe('reports on a terminal: plain text, colour only when asked', () => {
  it('no Markdown syntax left, tables aligned, no colour without a terminal or with NO_COLOR', () => {
    const text = markdownForTerminal(md, { color: false, columns: 100 });
    expect(text).not.toMatch(/\*\*|`|^#|\| ---/m);
    expect(text).not.toContain('\u001b[');
    const lines = text.split('\n');
    expect(lines[0]).toBe('Rehearsal of shop (native engine)');
    expect(lines[2]).toBe('Validation: EQUAL over 6 tables');
    expect(lines[4]).toBe('table          source rows  target rows  status');
    expect(lines[5]).toBe('public.orders  10152        10152        equal');
    expect(lines[6]).toBe('public.a|b     1            2            differs');
  });

  it('with colour: bold headings and marks in colour', () => {
    const text = markdownForTerminal('# Title\n\n| | id |\n| --- | --- |\n| :x: | wal-level |', {
      color: true,
    });
    expect(text).toContain('\u001b[1mTitle');
    expect(text).toContain('\u001b[31m✗');
  });

  it('a table wider than the terminal wraps its widest column to fit, or prints one block per row when it cannot', () => {
    const report = preflightMarkdown({
      source: 'db.example:5432/shop',
      ready: false,
      failed: { error: 1, warning: 0, info: 0 },
      checks: [
        {
          id: 'wal-level',
          severity: 'error',
          passed: false,
          found: 'wal_level is replica',
          fix: 'set wal_level = logical in postgresql.conf and restart the server; on RDS set rds.logical_replication = 1 in the parameter group',
        },
      ],
    } as never);
    const wrapped = markdownForTerminal(report, { color: false, columns: 80 });
    expect(wrapped).toMatch(/^✗ +wal-level +wal_level is replica +set wal_level = logical/m);
    expect(wrapped).toContain('rds.logical_replication');
    for (const l of wrapped.split('\n')) expect(stringWidth(l)).toBeLessThanOrEqual(80);
    // Too narrow to wrap any column to 16: one block per row, each cell under its header.
    const blocks = markdownForTerminal(report, { color: false, columns: 40 });
    expect(blocks).toMatch(/^✗ {2}wal-level$/m);
    expect(blocks).toMatch(/^ {4}found: wal_level is replica$/m);
    expect(blocks).toMatch(/^ {4}fix: set wal_level = logical/m);
  });
});
