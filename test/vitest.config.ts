import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../vitest.shared.js';
import LongestFirst from './helpers/sequencer.js';

export default mergeConfig(
  sharedTestConfig,
  defineConfig({
    test: {
      include: ['e2e/**/*.test.ts'],
      // Each file starts its own PostgreSQL servers; two cores are shared by at most two files.
      fileParallelism: true,
      maxConcurrency: 1,
      poolOptions: { forks: { maxForks: 2, minForks: 1 } },
      testTimeout: 300_000,
      setupFiles: ['helpers/setup.ts'],
      sequence: { sequencer: LongestFirst },
    },
  }),
);
