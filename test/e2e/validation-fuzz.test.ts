import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzDatabases } from '../fuzz/servers.js';
import { runValidationFuzz } from '../fuzz/validation-fuzz.js';
import { type LocalServer, startServer } from '../helpers/servers.js';

/**
 * Validation on schemas generated at random from a seed: every key and column type of the generator,
 * NULLs, extreme values, multi-column and unique-index keys. A new seed each run (DMSKIT_FUZZ_SEED to
 * choose one, DMSKIT_FUZZ_CASES for more cases); `pnpm test:fuzz-validation --cases N --seed S` runs
 * more on demand. A failure prints the seed, the case and the SQL that rebuilds it.
 */
describe('validation on generated schemas', () => {
  let source: LocalServer;
  let target: LocalServer;
  beforeAll(async () => {
    [source, target] = await Promise.all([startServer('source'), startServer('target')]);
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('equal when loaded alike; exactly the changed, deleted and inserted rows named after changes on the target', async () => {
    const seed = Number(process.env.DMSKIT_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const cases = Number(process.env.DMSKIT_FUZZ_CASES ?? 300);
    const report = await runValidationFuzz({ seed, cases, ...fuzzDatabases(source, target) });
    const shown = report.failures
      .slice(0, 3)
      .map(
        (f) =>
          `case ${f.index} (pnpm test:fuzz-validation --seed ${seed} --case ${f.index}): ${f.problem}\n${f.reproduction}`,
      );
    expect(report.failures.length, `seed ${seed}:\n${shown.join('\n\n')}`).toBe(0);
    expect(report.cases).toBe(cases);
    // Every chunking method was exercised.
    expect(Object.keys(report.methods).sort()).toEqual([
      'integer-ranges',
      'key-hash',
      'sampled-ranges',
      'whole-table',
    ]);
  });
});
