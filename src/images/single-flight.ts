/**
 * Concurrent misses for one key load once (groupcache's singleflight): later
 * callers share the first caller's promise until it settles.
 */
export function createSingleFlight<T>() {
  const flights = new Map<string, Promise<T>>();
  return (key: string, load: () => Promise<T>): Promise<T> => {
    const running = flights.get(key);
    if (running) return running;
    const flight = load().finally(() => flights.delete(key));
    flights.set(key, flight);
    return flight;
  };
}
