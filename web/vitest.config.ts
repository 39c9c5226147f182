import { defineConfig } from 'vitest/config';

// Unit tests: pure modules in Node (no browser, no server).
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
  },
});
