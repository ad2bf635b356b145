import { defineConfig } from 'vitest/config';

/** The base every package's vitest.config.ts extends: Node environment, no globals, long hooks for servers. */
export const sharedTestConfig = defineConfig({
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', '*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The JSON report feeds scripts/test-summary.mjs (one closing line for the whole repo).
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
