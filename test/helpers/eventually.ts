/** Polls `check` until it returns something truthy (its value is returned); a thrown error counts as "not yet". */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
