import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { renderReplication } from './progress.js';
import { sortStatistics, statisticsView, type TableStatistics } from './table-statistics.js';

const NOW = Date.parse('2026-12-06T12:00:00Z');

/** 50 tables as a long CDC leaves them: some still loading, long names, busy and idle ones. */
function fifty(): TableStatistics[] {
  return Array.from({ length: 50 }, (_, i) => ({
    table:
      i % 7 === 0
        ? `warehouse_history.inventory_movements_by_location_${i}`
        : `public.t${String(i).padStart(2, '0')}`,
    state: i < 3 ? 'Full load' : 'Table completed',
    fullLoadRows: 1_000_000 + i * 12_345,
    inserts: i * 1000,
    updates: (50 - i) * 10,
    deletes: i % 5,
    lastApply: i % 4 === 0 ? null : new Date(NOW - i * 1500).toISOString(),
    validation: i % 9 === 0 ? 'Mismatched records' : 'Validated',
  }));
}

describe('the per-table statistics of status --watch', () => {
  for (const [columns, rows] of [
    [80, 24],
    [120, 40],
  ] as const)
    it(`fits a ${columns}x${rows} terminal with 50 tables: no line wider, no more lines, what is hidden counted`, () => {
      const frame = renderReplication(
        { tables: [], lagBytes: 4096, lagSeconds: 0.4, statistics: { rows: fifty(), sort: 'changes' } },
        { columns, rows },
      );
      const lines = stripVTControlCharacters(frame).split('\n');
      expect(lines.length).toBeLessThanOrEqual(rows - 1);
      for (const l of lines) expect(stringWidth(l), l).toBeLessThan(columns);
      expect(lines[0]).toMatch(/^lag: 4 KiB/);
      expect(lines[1]).toMatch(/^50 table\(s\), 47 completed; full load [\d,]+ rows; CDC [\d,]+ inserts/);
      expect(lines[2]).toMatch(/^table +state +/);
      // Sorted by changes: the busiest (the 49th: 49,000 inserts) first.
      expect(lines[3]).toMatch(/^warehouse\S*_49 /);
      expect(lines[lines.length - 1]).toMatch(/^\.\.\. and \d+ more table\(s\)/);
      const hidden = Number(/and (\d+) more/.exec(lines[lines.length - 1] as string)?.[1]);
      expect(hidden + (lines.length - 4)).toBe(50);
    });

  it('names every column in a wide terminal and shortens the long names in their middle in a narrow one', () => {
    const wide = statisticsView(fifty(), { sort: 'name', columns: 160, now: NOW, color: false });
    expect(wide[1]).toMatch(
      /^table +state +full-load rows +inserts +updates +deletes +last apply +validation$/,
    );
    expect(wide.join('\n')).toContain('warehouse_history.inventory_movements_by_location_14');
    expect(wide.join('\n')).toMatch(
      /public\.t03 +Table completed +1,037,035 +3,000 +470 +3 +4s ago +Validated/,
    );
    const narrow = statisticsView(fifty(), { sort: 'name', columns: 80, now: NOW, color: false });
    expect(narrow[1]).toMatch(/^table +state +loaded +ins +upd +del +applied +validation$/);
    expect(narrow.join('\n')).toMatch(/^warehouse\S*…\S*_14 /m);
    expect(narrow.join('\n')).not.toContain('warehouse_history.inventory_movements_by_location_14');
  });

  it('sorts names A-Z and numbers largest first, ties by name', () => {
    const rows = fifty();
    expect(
      sortStatistics(rows, 'deletes')
        .slice(0, 2)
        .map((t) => t.deletes),
    ).toEqual([4, 4]);
    expect(sortStatistics(rows, 'rows')[0]?.fullLoadRows).toBe(1_000_000 + 49 * 12_345);
    const byName = sortStatistics(rows, 'name').map((t) => t.table);
    expect(byName).toEqual([...byName].sort());
  });
});
