/** How long a count is reused: a count over 100,000 rows costs tens of milliseconds. */
export const KEY_COUNT_TTL_MS = 2000;

export type KeyCount = { get(): Promise<number>; invalidate(): void };

/**
 * The number of stored images for the home and keys pages: one count query, shared by the
 * requests that arrive while it runs and reused for `ttlMs`. This process's own uploads and
 * deletions invalidate it at once; another host's show within `ttlMs`.
 */
export function createKeyCount(count: () => Promise<number>, ttlMs = KEY_COUNT_TTL_MS): KeyCount {
  let cached: { value: Promise<number>; at: number } | undefined;
  return {
    get() {
      if (!cached || Date.now() - cached.at > ttlMs) {
        const value = count();
        const entry = { value, at: Date.now() };
        cached = entry;
        // A failed count is not reused.
        value.catch(() => cached === entry && (cached = undefined));
      }
      return cached.value;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
