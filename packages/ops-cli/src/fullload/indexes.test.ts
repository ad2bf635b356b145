import { describe, expect, it } from 'vitest';
import { type BuildSlot, type BuildUnit, buildScheduler } from './indexes.js';
import type { LockMode } from './locks.js';

/** A build that waits until released, recording what ran at once and what it was told. */
function gatedBuilds() {
  const gates = new Map<string, () => void>();
  const running = new Set<string>();
  let most = 0;
  const started: string[] = [];
  const told = new Map<string, BuildSlot>();
  /** Sets of units that ran at the same time. */
  const together: string[][] = [];
  const build = (unit: BuildUnit<null>, slot: BuildSlot) =>
    new Promise<void>((resolve, reject) => {
      started.push(unit.id);
      told.set(unit.id, slot);
      running.add(unit.id);
      together.push([...running]);
      most = Math.max(most, running.size);
      gates.set(unit.id, () => {
        running.delete(unit.id);
        if (unit.id.startsWith('bad')) reject(new Error(`${unit.id} failed`));
        else resolve();
      });
    });
  const release = async (id: string) => {
    gates.get(id)?.();
    await new Promise((r) => setImmediate(r));
  };
  return { build, release, started, told, together, most: () => most };
}

const unit = (
  id: string,
  table: string,
  cost: number,
  mode: LockMode = 'SHARE',
  more: Partial<BuildUnit<null>> = {},
): BuildUnit<null> => ({
  id,
  tables: [table],
  locks: [{ table, mode }],
  after: [],
  cost,
  memory: mode === 'SHARE',
  payload: null,
  ...more,
});

describe('buildScheduler', () => {
  it("starts a table's builds once its rows are in, the costliest first, one at a time until raised", async () => {
    const g = gatedBuilds();
    const s = buildScheduler(g.build, { memoryBudgetMb: 1024 });
    s.add([unit('a_idx', 'a', 1), unit('a_gist', 'a', 30), unit('b_gin', 'b', 20)]);
    expect(g.started).toEqual([]);
    s.tableDone('b');
    expect(g.started).toEqual(['b_gin']);
    s.tableDone('a');
    s.raise(3);
    // The GiST build before the b-tree of its table, whatever the order they were added in.
    expect(g.started).toEqual(['b_gin', 'a_gist', 'a_idx']);
    for (const id of ['b_gin', 'a_gist', 'a_idx']) await g.release(id);
    expect((await s.settle()).map((u) => u.id)).toEqual(['b_gin', 'a_gist', 'a_idx']);
    expect(g.most()).toBe(3);
  });

  it('never starts a build whose lock conflicts with a running one, and takes the next that may start', async () => {
    const g = gatedBuilds();
    const s = buildScheduler(g.build, { memoryBudgetMb: 1024, limit: 4 });
    s.add([
      unit('t_idx', 't', 10),
      // A key's constraint (ACCESS EXCLUSIVE) waits for the table's running builds, but does not hold
      // back builds of other tables.
      unit('t_pkey', 't', 1e9, 'ACCESS EXCLUSIVE', { memory: false }),
      unit('u_idx', 'u', 5),
      // Validating a foreign key of t (SHARE UPDATE EXCLUSIVE) conflicts with t's index builds (SHARE),
      // not with u's (ROW SHARE on the referenced table).
      {
        ...unit('t_fk', 't', 3, 'SHARE UPDATE EXCLUSIVE'),
        tables: ['t', 'u'],
        locks: [
          { table: 't', mode: 'SHARE UPDATE EXCLUSIVE' },
          { table: 'u', mode: 'ROW SHARE' },
        ],
      },
    ]);
    s.tableDone('t');
    // t_pkey is the costliest, and starts first: alone on t.
    expect(g.started).toEqual(['t_pkey']);
    s.tableDone('u');
    expect(g.started).toEqual(['t_pkey', 'u_idx']);
    await g.release('t_pkey');
    // t_idx (SHARE) and t_fk (SHARE UPDATE EXCLUSIVE) conflict: the costlier first, the other after it.
    expect(g.started).toEqual(['t_pkey', 'u_idx', 't_idx']);
    await g.release('t_idx');
    expect(g.started).toEqual(['t_pkey', 'u_idx', 't_idx', 't_fk']);
    await g.release('u_idx');
    await g.release('t_fk');
    await s.settle();
    for (const set of g.together) {
      expect(set.includes('t_idx') && set.includes('t_fk')).toBe(false);
      expect(set.includes('t_pkey') && set.some((x) => x.startsWith('t_') && x !== 't_pkey')).toBe(false);
    }
  });

  it('starts a unit after the ones it comes after, and drops it when one of them fails', async () => {
    const g = gatedBuilds();
    const s = buildScheduler(g.build, { memoryBudgetMb: 1024, limit: 4 });
    s.add([
      unit('bad_pkey_index', 'p', 5),
      unit('p_pkey', 'p', 1e9, 'ACCESS EXCLUSIVE', { after: ['bad_pkey_index'], memory: false }),
      unit('c_fk', 'c', 1, 'SHARE ROW EXCLUSIVE', { after: ['p_pkey'], tables: ['c', 'p'], memory: false }),
      unit('q_index', 'q', 5),
      unit('q_pkey', 'q', 1e9, 'ACCESS EXCLUSIVE', { after: ['q_index'], memory: false }),
    ]);
    for (const t of ['p', 'c', 'q']) s.tableDone(t);
    expect(g.started).toEqual(['bad_pkey_index', 'q_index']);
    await g.release('bad_pkey_index');
    await g.release('q_index');
    expect(g.started).toEqual(['bad_pkey_index', 'q_index', 'q_pkey']);
    await g.release('q_pkey');
    expect((await s.settle()).map((u) => u.id)).toEqual(['q_index', 'q_pkey']);
  });

  it('divides the memory budget among the builds that run at once', async () => {
    const g = gatedBuilds();
    const s = buildScheduler(g.build, { memoryBudgetMb: 1000, limit: 1 });
    s.add([unit('a', 'a', 4), unit('b', 'b', 3), unit('c', 'c', 2), unit('k', 'k', 1, 'ACCESS EXCLUSIVE')]);
    for (const t of ['a', 'b', 'c', 'k']) s.tableDone(t);
    // Alone, the first build gets it all; raised to 2, the second gets what is left.
    expect(g.told.get('a')).toEqual({ running: 1, memoryMb: 1000 });
    s.raise(2);
    expect(g.told.get('b')?.memoryMb).toBe(64); // at least 64 MiB, even with the budget spent
    await g.release('a');
    // a's share is free again: c, in the one slot left, gets what b does not hold; k takes no memory.
    expect(g.told.get('c')?.memoryMb).toBe(936);
    await g.release('b');
    expect(g.told.get('k')?.memoryMb).toBe(0);
    await g.release('c');
    await g.release('k');
    await s.settle();

    // Four builds started at once share the budget evenly.
    const h = gatedBuilds();
    const t = buildScheduler(h.build, { memoryBudgetMb: 1000, limit: 4 });
    t.add(['w', 'x', 'y', 'z'].map((id) => unit(id, id, 1)));
    for (const id of ['w', 'x', 'y', 'z']) t.tableDone(id);
    expect([...h.told.values()].map((x) => x.memoryMb)).toEqual([250, 250, 250, 250]);
    for (const id of ['w', 'x', 'y', 'z']) await h.release(id);
    await t.settle();
  });

  it('stop drops what has not started and waits for what runs', async () => {
    const g = gatedBuilds();
    const s = buildScheduler(g.build, { memoryBudgetMb: 256 });
    s.add([unit('a', 'a', 3), unit('b', 'a', 2), unit('c', 'a', 1)]);
    s.tableDone('a');
    const stopped = s.stop();
    s.add([unit('d', 'd', 9)]);
    s.tableDone('d');
    await g.release('a');
    expect((await stopped).map((u) => u.id)).toEqual(['a']);
    expect(g.started).toEqual(['a']);
  });
});
