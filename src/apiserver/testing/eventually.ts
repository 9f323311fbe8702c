// Polling for integration tests: bounded in time, and saying what it waited for.

/**
 * Polls `check` every 250 ms for up to `seconds` until it returns something other than
 * undefined (errors count as "not yet"); throws with `what`, the last error and `context()`.
 */
export async function eventually<T>(seconds: number, check: () => Promise<T | undefined>, what = 'the condition', context?: () => string): Promise<T> {
  let last: unknown;
  for (let i = 0; i < seconds * 4; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not within ${seconds} s: ${what}${last ? `: ${(last as Error).message}` : ''}${context ? `\n${context()}` : ''}`);
}
