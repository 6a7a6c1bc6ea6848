/** GETs `url` on `connections` keep-alive connections until stopped, `pauseMs` apart on each; counts answers and failures. */
export function keepAliveLoad(url: string, connections: number, pauseMs = 0) {
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
  return {
    result,
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}
