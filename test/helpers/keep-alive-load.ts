import type { TestContext } from 'node:test';

/**
 * GETs `url` on `connections` keep-alive connections until stopped, `pauseMs` apart on each; counts answers
 * and failures. Stopped after the test at the latest: a test that fails before it stops the load would
 * otherwise keep its file's process running, and the whole run waiting for it.
 */
export function keepAliveLoad(t: TestContext, url: string, connections: number, pauseMs = 0) {
  let running = true;
  const result = { ok: 0, failed: [] as string[] };
  const loops = Array.from({ length: connections }, async () => {
    while (running) {
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        if (response.status === 200) result.ok++;
        else result.failed.push(`status ${response.status}`);
      } catch (err) {
        result.failed.push(`${(err as Error).message}: ${String((err as { cause?: unknown }).cause)}`);
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  const stop = async () => {
    running = false;
    await Promise.all(loops);
    return result;
  };
  t.after(stop);
  return { result, stop };
}
