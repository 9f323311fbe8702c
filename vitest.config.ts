import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'hack/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: suites that start servers or kill processes must not fight for them.
    fileParallelism: false,
    pool: 'forks',
  },
});
