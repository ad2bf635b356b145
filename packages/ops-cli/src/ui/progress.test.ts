import { PassThrough } from 'node:stream';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from './format.js';
import { renderLoad } from './load-view.js';
import { createProgress, renderReplication } from './progress.js';

describe('progress without a terminal', () => {
  it('prints one line per table state change and a lag line, no escape codes', () => {
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d) => {
      out += d;
    });
    const p = createProgress(stream as unknown as NodeJS.WriteStream, {
      interactive: false,
      plainIntervalMs: 0,
    });
    const table = { schema: 'public', table: 'orders', rows: 10 };
    p.phase('full load');
    p.frame({ tables: [{ ...table, state: 'copying' }], lagBytes: 2048, lagSeconds: 0.5, writes: 3 });
    p.frame({ tables: [{ ...table, state: 'copying', rows: 20 }], lagBytes: 0, lagSeconds: 0 });
    p.frame({ tables: [{ ...table, state: 'ready', rows: 30 }], lagBytes: 0, lagSeconds: 0 });
    expect(out.split('\n').filter(Boolean)).toEqual([
      '» full load',
      '  public.orders: copying (10 rows)',
      '  lag: 2 KiB / 0.50 s  sample writer: 3 transactions',
      '  lag: 0 B / 0.00 s',
      '  public.orders: ready (30 rows)',
      '  lag: 0 B / 0.00 s',
    ]);
    expect(out).not.toContain('\u001b[');
  });
});

describe('formats', () => {
  it('bytes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536 * 1024)).toBe('1.5 MiB');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_340)).toBe('12.3s');
    expect(formatDuration(245_000)).toBe('4m 5s');
  });
});

/** A terminal of 100 columns and 30 rows, as far as log-update asks. */
function virtualTerminal(): { stream: NodeJS.WriteStream; screen: () => string[] } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  Object.assign(stream, { isTTY: true, columns: 100, rows: 30 });
  let out = '';
  (stream as unknown as PassThrough).on('data', (d) => {
    out += d;
  });
  // What is on the screen after the last redraw: the text after the last erase sequence.
  const screen = () => {
    const last = out.split('\u001b[G').pop() ?? '';
    return last
      .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
      .split('\n')
      .filter(Boolean);
  };
  return { stream, screen };
}

const tables = Array.from({ length: 25 }, (_, i) => ({
  schema: 'sales_reporting_archive',
  table: `monthly_revenue_by_region_and_channel_${String(i).padStart(2, '0')}`,
}));

describe('the live view fits a 100x30 terminal with 25 tables', () => {
  it('replication: the lag first, then the copying tables, the rest counted; no line wider than the terminal', () => {
    const { stream } = virtualTerminal();
    const frame = {
      tables: tables.map((t, i) => ({
        ...t,
        state: i < 3 ? ('copying' as const) : ('ready' as const),
        rows: 1_234_567,
      })),
      sourceRows: new Map(tables.map((t) => [`${t.schema}.${t.table}`, 9_876_543])),
      lagBytes: 5 * 1024 * 1024,
      lagSeconds: 1.5,
    };
    const text = renderReplication(frame, { columns: stream.columns, rows: stream.rows });
    const lines = text.split('\n');
    expect(lines.length).toBeLessThanOrEqual(29);
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(99);
    expect(lines[0]).toMatch(/^lag: 5 MiB \/ 1\.50 s/);
    expect(lines.slice(1, 4).every((l) => l.includes('copying'))).toBe(true);
    expect(lines).toHaveLength(26); // all 25 fit
    const more = renderReplication(
      { ...frame, tables: [...frame.tables, ...frame.tables.map((t) => ({ ...t, table: `${t.table}_b` }))] },
      { columns: 100, rows: 30 },
    ).split('\n');
    expect(more).toHaveLength(29);
    expect(more.at(-1)).toMatch(/^ {2}… 23 ready$/);
  });

  it('full load: the summary, the tables being copied, the rest counted', () => {
    const figures = {
      jobs: 2,
      elapsedMs: 4000,
      rows: 2_000_000,
      bytes: 200 * 1024 * 1024,
      fraction: 0.4,
      etaMs: 6000,
      tables: tables.map((t, i) => ({
        ...t,
        state: i < 2 ? ('copying' as const) : i < 10 ? ('done' as const) : ('waiting' as const),
        rows: 100_000,
        bytes: 10 * 1024 * 1024,
        estimatedRows: 1_000_000,
        relationBytes: 100 * 1024 * 1024,
        ms: 2000,
        etaMs: i < 2 ? 18_000 : null,
        chunks: 1,
      })),
    };
    const lines = renderLoad(figures, { columns: 100, rows: 30 }).split('\n');
    expect(lines.length).toBeLessThanOrEqual(29);
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(99);
    expect(lines[0]).toMatch(
      /^full load 40%: 2,000,000 rows, 200 MiB at 50 MiB\/s, ETA 6s; 8\/25 tables, 2 workers$/,
    );
    expect(lines[1]).toMatch(/100,000 of ~1,000,000 rows 10%, 50,000 rows\/s, ETA 18\.0 s|…/);
    expect(lines).toHaveLength(26); // all 25 fit, copying first, then waiting, then done
    expect(lines[3]).toMatch(/: waiting \(~1,000,000 rows, 100 MiB\)$/);
    expect(lines.at(-1)).toMatch(/: 100,000 rows, 10 MiB in 2s \(50,000 rows\/s\)$/);
    const more = renderLoad(
      {
        ...figures,
        tables: [...figures.tables, ...figures.tables.map((t) => ({ ...t, table: `${t.table}_b` }))],
      },
      { columns: 100, rows: 30 },
    ).split('\n');
    expect(more).toHaveLength(29);
    expect(more.at(-1)).toMatch(/^ {2}… 7 waiting, 16 done$/);
  });

  it('a redraw through log-update leaves at most 30 lines on the screen', () => {
    const { stream, screen } = virtualTerminal();
    const p = createProgress(stream, { interactive: true });
    p.phase('full load');
    for (let i = 0; i < 3; i++)
      p.frame({
        tables: tables.map((t) => ({ ...t, state: 'ready' as const, rows: i })),
        lagBytes: 0,
        lagSeconds: 0,
      });
    const lines = screen();
    expect(lines.length).toBeLessThanOrEqual(30);
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(100);
    p.stop();
  });
});
