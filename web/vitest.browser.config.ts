import { defineConfig } from 'vitest/config';

// Browser tests: one suite, one private platform, Debian's chromium driven by playwright-core.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 240_000,
    bail: 1,
    expect: { poll: { timeout: 10_000, interval: 100 } },
  },
});
