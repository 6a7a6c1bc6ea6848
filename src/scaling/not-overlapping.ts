/**
 * A timer task that skips its tick while the previous run is still going: a pass that waits
 * for a booting node (or a query against a slow database) must not queue up one more run per tick.
 */
export function notOverlapping(task: () => Promise<unknown>): () => void {
  let running = false;
  return () => {
    if (running) return;
    running = true;
    void task().finally(() => (running = false));
  };
}
