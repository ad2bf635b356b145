import { describe, expect, it } from 'vitest';
import { indexBuilder } from './indexes.js';

/** A build that waits until released, recording how many run at once. */
function gatedBuilds() {
  const gates = new Map<string, () => void>();
  let running = 0;
  let most = 0;
  const started: string[] = [];
  /** What each build was told runs with it, itself included. */
  const told = new Map<string, number>();
  const build = (unit: string, alongside: number) =>
    new Promise<void>((resolve, reject) => {
      started.push(unit);
      told.set(unit, alongside);
      running++;
      most = Math.max(most, running);
      gates.set(unit, () => {
        running--;
        if (unit.startsWith('bad')) reject(new Error(`${unit} failed`));
        else resolve();
      });
    });
  const release = async (unit: string) => {
    gates.get(unit)?.();
    await new Promise((r) => setImmediate(r));
  };
  return { build, release, started, told, most: () => most };
}

describe('indexBuilder', () => {
  it('runs one build at a time until raised, then as many as allowed, in queue order', async () => {
    const g = gatedBuilds();
    const builder = indexBuilder(g.build);
    builder.add(['a_pkey', 'a_idx', 'b_pkey']);
    expect(g.started).toEqual(['a_pkey']);
    builder.raise(3);
    expect(g.started).toEqual(['a_pkey', 'a_idx', 'b_pkey']);
    builder.add(['c_pkey']);
    expect(g.started).toHaveLength(3);
    await g.release('a_idx');
    expect(g.started).toEqual(['a_pkey', 'a_idx', 'b_pkey', 'c_pkey']);
    for (const u of ['a_pkey', 'b_pkey', 'c_pkey']) await g.release(u);
    expect(await builder.settle()).toEqual(['a_idx', 'a_pkey', 'b_pkey', 'c_pkey']);
    expect(g.most()).toBe(3);
    // Each build is told how many run with it when it starts: its share of the cores.
    expect(Object.fromEntries(g.told)).toEqual({ a_pkey: 1, a_idx: 2, b_pkey: 3, c_pkey: 3 });
  });

  it('never lowers the limit, leaves a failed build out, and settles after the queue drains', async () => {
    const g = gatedBuilds();
    const builder = indexBuilder(g.build, 2);
    builder.raise(1);
    builder.add(['bad_idx', 'x_idx', 'y_idx']);
    expect(g.started).toEqual(['bad_idx', 'x_idx']);
    const settled = builder.settle();
    await g.release('bad_idx');
    expect(g.started).toEqual(['bad_idx', 'x_idx', 'y_idx']);
    await g.release('x_idx');
    await g.release('y_idx');
    expect(await settled).toEqual(['x_idx', 'y_idx']);
  });

  it('stop drops what is queued and waits for what runs', async () => {
    const g = gatedBuilds();
    const builder = indexBuilder(g.build);
    builder.add(['a', 'b', 'c']);
    const stopped = builder.stop();
    builder.add(['d']);
    await g.release('a');
    expect(await stopped).toEqual(['a']);
    expect(g.started).toEqual(['a']);
  });
});
