// Per-attempt names for integration tests. vitest retries a failed test (vitest.config.ts has
// `retry: 1`) against the same server: a retry that made the same objects again would fail on
// AlreadyExists, or find what the failed attempt left behind. A retry names what it makes after
// its attempt number instead.
import { beforeEach } from 'vitest';

export interface Attempts {
  /** The running test's attempt: 1, then 2 on its first retry, and so on (0 outside a test). */
  readonly n: number;
  /** `base` in a test's first attempt, `${base}-try${n}` in a retry. */
  name(base: string): string;
}

/** Counts each test's attempts. Call once, at the top level of a test file: it adds a beforeEach hook. */
export function countAttempts(): Attempts {
  const seen = new Map<string, number>();
  let current = 0;
  beforeEach((ctx) => {
    current = (seen.get(ctx.task.id) ?? 0) + 1;
    seen.set(ctx.task.id, current);
  });
  return {
    get n() {
      return current;
    },
    name: (base) => (current > 1 ? `${base}-try${current}` : base),
  };
}
