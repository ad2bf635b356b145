import { describe, expect, it } from 'vitest';
import { busiestShare, type CopyTable, copyInSql, copyOutSql, planCopy } from './plan.js';

const MB = 1024 * 1024;
const table = (name: string, mb: number): CopyTable => ({
  schema: 'public',
  table: name,
  columns: ['id', 'v'],
  binary: true,
  bytes: mb * MB,
  blocks: Math.ceil((mb * MB) / 8192),
  estimatedRows: mb * 1000,
});
/** Chunks per table, and whether each table's chunks FREEZE. */
const shape = (chunks: ReturnType<typeof planCopy>) => {
  const out: Record<string, { parts: number; freeze: boolean }> = {};
  for (const c of chunks) {
    const entry = out[c.table.table] ?? { parts: 0, freeze: c.freeze };
    out[c.table.table] = { parts: entry.parts + 1, freeze: entry.freeze && c.freeze };
  }
  return out;
};

describe('busiestShare: tables dealt largest first to the least loaded worker', () => {
  it('gives the busiest worker its load', () => {
    expect(busiestShare([640, 480, 10, 5], 2)).toBe(640);
    expect(busiestShare([5, 5, 5, 5], 2)).toBe(10);
    expect(busiestShare([7, 5, 4, 3, 1], 3)).toBe(7);
    expect(busiestShare([], 2)).toBe(0);
  });
});

describe('planCopy: whole tables (COPY FREEZE) unless a table would hold the load back', () => {
  it('copies two big tables of unequal size whole, one per worker', () => {
    // 640 and 351 MB: the busiest worker 1.29 times a perfect share (the bench's data).
    for (const wideMb of [480, 351]) {
      const plan = planCopy([table('accounts', 640), table('wide', wideMb), table('branches', 1)], {
        jobs: 2,
        sourceMajor: 15,
      });
      expect(shape(plan)).toEqual({
        accounts: { parts: 1, freeze: true },
        wide: { parts: 1, freeze: true },
        branches: { parts: 1, freeze: true },
      });
      expect(plan.map((c) => c.table.table)).toEqual(['accounts', 'wide', 'branches']);
    }
  });

  it('splits the larger of two tables when it alone is more than 1.5 times a perfect share', () => {
    // 640 of 800 MB: whole, one worker would copy 1.6 times its share.
    const s = shape(planCopy([table('accounts', 640), table('wide', 160)], { jobs: 2, sourceMajor: 15 }));
    expect(s.accounts?.freeze).toBe(false);
    expect(s.accounts?.parts).toBeGreaterThanOrEqual(2);
    expect(s.wide).toEqual({ parts: 1, freeze: true });
  });

  it('splits a table that is most of the data, and only it, into ctid ranges that cover every block', () => {
    const big = table('events', 900);
    const plan = planCopy([big, table('users', 60), table('orders', 40)], { jobs: 2, sourceMajor: 15 });
    const s = shape(plan);
    expect(s.events?.parts).toBeGreaterThanOrEqual(2);
    expect(s.events?.freeze).toBe(false);
    expect(s.users).toEqual({ parts: 1, freeze: true });
    expect(s.orders).toEqual({ parts: 1, freeze: true });
    const ranges = plan.filter((c) => c.table === big).map((c) => c.blocks);
    const sorted = [...ranges].sort((a, b) => (a?.from ?? 0) - (b?.from ?? 0));
    expect(sorted[0]?.from).toBe(0);
    expect(sorted.at(-1)?.to).toBeNull();
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]?.from).toBe(sorted[i - 1]?.to);
    // Balanced now: no worker gets much more than half.
    expect(
      busiestShare(
        plan.map((c) => c.bytes),
        2,
      ),
    ).toBeLessThanOrEqual((1.5 * (1000 * MB)) / 2);
  });

  it('splits the largest tables one by one until the load is balanced', () => {
    const plan = planCopy([table('a', 500), table('b', 400), table('c', 50), table('d', 50)], {
      jobs: 4,
      sourceMajor: 15,
    });
    const s = shape(plan);
    expect(s.a?.freeze).toBe(false);
    expect(s.b?.freeze).toBe(false);
    expect(s.c).toEqual({ parts: 1, freeze: true });
    expect(s.d).toEqual({ parts: 1, freeze: true });
  });

  it('copies first the table whose builds take longest, whole; without builds, the largest first', () => {
    const tables = [table('accounts', 640), table('wide', 480), table('branches', 1)];
    // Seconds of builds on wide: the chain (copy + longest build) decides, not the bytes alone.
    for (const micros of [4e6, 60e6]) {
      const plan = planCopy(tables, {
        jobs: 2,
        sourceMajor: 15,
        tailMicros: new Map([['public.wide', micros]]),
      });
      expect(plan.map((c) => [c.table.table, c.freeze])).toEqual([
        ['wide', true],
        ['accounts', true],
        ['branches', true],
      ]);
    }
    // A build shorter than the difference in copy (160 MB at 0.016 µs/B = 2.7 s): the bytes decide.
    const small = planCopy(tables, { jobs: 2, sourceMajor: 15, tailMicros: new Map([['public.wide', 1e6]]) });
    expect(small.map((c) => c.table.table)).toEqual(['accounts', 'wide', 'branches']);
  });

  it('never splits with one worker, or on a source older than PostgreSQL 14', () => {
    const tables = [table('events', 900), table('users', 10)];
    for (const options of [
      { jobs: 1, sourceMajor: 15 },
      { jobs: 4, sourceMajor: 13 },
    ]) {
      const s = shape(planCopy(tables, options));
      expect(s.events).toEqual({ parts: 1, freeze: true });
    }
  });

  it('with a chunk size given, splits every table larger than it', () => {
    const s = shape(
      planCopy([table('accounts', 640), table('wide', 480), table('small', 3)], {
        jobs: 2,
        sourceMajor: 15,
        chunkBytes: 100 * MB,
      }),
    );
    expect(s.accounts).toEqual({ parts: 7, freeze: false });
    expect(s.wide).toEqual({ parts: 5, freeze: false });
    expect(s.small).toEqual({ parts: 1, freeze: true });
  });
});

describe('copyOutSql / copyInSql', () => {
  it('reads a ctid range and loads whole tables with FREEZE', () => {
    const t = table('events', 10);
    expect(copyOutSql({ table: t, blocks: { from: 10, to: 20 }, freeze: false, bytes: 1 })).toBe(
      `COPY (SELECT "id", "v" FROM ONLY "public"."events" WHERE ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid) TO STDOUT (FORMAT binary)`,
    );
    // Whole: an ordinary table is read by COPY itself; anything else (a partitioned parent) by a query.
    expect(copyOutSql({ table: { ...t, ordinary: true }, freeze: true, bytes: 1 })).toBe(
      'COPY "public"."events" ("id", "v") TO STDOUT (FORMAT binary)',
    );
    expect(copyOutSql({ table: { ...t, ordinary: false, binary: false }, freeze: true, bytes: 1 })).toBe(
      'COPY (SELECT "id", "v" FROM ONLY "public"."events") TO STDOUT',
    );
    expect(copyOutSql({ table: { ...t, ordinary: true, columns: [] }, freeze: true, bytes: 1 })).toBe(
      'COPY (SELECT  FROM ONLY "public"."events") TO STDOUT (FORMAT binary)',
    );
    expect(copyInSql({ table: t, freeze: true, bytes: 1 })).toBe(
      'COPY "public"."events" ("id", "v") FROM STDIN (FORMAT binary, FREEZE)',
    );
    expect(
      copyInSql({ table: { ...t, binary: false }, blocks: { from: 0, to: null }, freeze: false, bytes: 1 }),
    ).toBe('COPY "public"."events" ("id", "v") FROM STDIN');
  });
});
