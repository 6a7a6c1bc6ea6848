/**
 * Concurrent calls for one key run once (groupcache's singleflight): later callers share the
 * first caller's promise until it settles. Used for misses of one image and starts of one member.
 */
export function createSingleFlight<T>() {
  const flights = new Map<string, Promise<T>>();
  const run = (key: string, load: () => Promise<T>): Promise<T> => {
    const running = flights.get(key);
    if (running) return running;
    const flight = load().finally(() => flights.delete(key));
    flights.set(key, flight);
    return flight;
  };
  return Object.assign(run, {
    /** The call for `key` in flight, if any. */
    running: (key: string): Promise<T> | undefined => flights.get(key),
    /** Settles once every call in flight now has settled. */
    settled: async (): Promise<void> => void (await Promise.allSettled([...flights.values()])),
  });
}
