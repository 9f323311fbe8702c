import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'hack/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: suites that start servers or kill processes must not fight for them.
    fileParallelism: false,
    pool: 'forks',
    // The controller suites wait on a live control plane with bounded polls; on a loaded CI
    // machine one such wait can run out. A test that fails twice is a failure.
    retry: 1,
  },
});
