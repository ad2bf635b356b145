import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCutoverSeed } from '../fuzz/cutover-fuzz.js';
import { scratchDir } from '../helpers/scratch.js';
import { type LocalServer, startServer } from '../helpers/servers.js';

/**
 * Generated CDC histories and their cutovers (fuzz/cutover-fuzz.ts): a seed picks tables, partitions,
 * DDL, new tables, writes on the target, a table without replica identity, the fence method and a
 * rollback after ready; a writer records every acknowledged commit and the checker finds none missing on
 * whichever server is the primary, or the cutover refused before the fence. A fixed set of seeds here
 * (`DMSKIT_CUTOVER_SEEDS=first:count` to choose others); many more on demand with
 * `pnpm test:fuzz-cutover --seeds N`.
 */
const [first, count] = (process.env.DMSKIT_CUTOVER_SEEDS ?? '1:10').split(':').map(Number) as [
  number,
  number,
];

describe('cutover on generated histories', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('fuzz-source', { logical: true }),
      startServer('fuzz-target', { logical: true }),
    ]);
    dir = await scratchDir('cutover-fuzz');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  for (let seed = first; seed < first + count; seed++)
    it(`seed ${seed}`, async () => {
      const r = await runCutoverSeed(seed, { source, target, dir });
      expect(
        r.problems,
        `${r.log.join('\n')}\nreproduce: pnpm test:fuzz-cutover --seed ${seed} --seeds 1 --verbose`,
      ).toEqual([]);
    });
});
