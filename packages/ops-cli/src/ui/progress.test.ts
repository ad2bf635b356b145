import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from './format.js';
import { createProgress } from './progress.js';

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
      '  lag: 2.0 kB / 0.50 s  writes committed on source: 3',
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
    expect(formatBytes(1536 * 1024)).toBe('1.5 MB');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
  });
});
