import { defineConfig } from 'vitest/config';

/** The base every package's vitest.config.ts extends: Node environment, no globals, long hooks for servers. */
export const sharedTestConfig = defineConfig({
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', '*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // dmskit supports Node 20; the AWS SDK's notice that its 2027 releases will not is noise in tests (the
    // CLI sets the same variable).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // The JSON report feeds scripts/test-summary.mjs (one closing line for the whole repo).
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
