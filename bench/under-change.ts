// (g) Look-ups while the pool changes: latency of GET /image/<key> over cache-node processes
// (the product's defaults, near cache included) at steady state, during a 4→5 resize (entries
// move to the new node meanwhile) and while one node is killed (its keys fall back to the
// image store until the pool heals). A look-up must never fail, whatever the pool does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchImage } from './bench-image.js';
import { stopAll, type Server } from './bench-processes.js';
import { atMost, fixed } from './bench-stats.js';
import type { Bench, BenchOutcome } from './bench-types.js';
import { childrenOf } from './proc-stat.js';
import { callApi, startAllRole, uploadAll } from './web-server.js';
import { CONNECTIONS, load, rotatingPaths, type LoadResult } from './wrk.js';

const KEYS = 500;
const IMAGE_BYTES = 20 * 1024;
const NODES = 4;
/** The change starts this long into the load run, so the run holds look-ups before, during and after it. */
const CHANGE_AFTER_MS = 1000;

type Phase = { phase: string; result: LoadResult; changeS: number | undefined };

export const underChangeBench: Bench = {
  id: 'g',
  name: 'look-ups during resize and node failure',
  usesWrk: true,
  async run({ durationS }): Promise<BenchOutcome> {
    const dataDir = await mkdtemp(join(tmpdir(), 'emc-bench-change-'));
    const servers: Server[] = [];
    try {
      const { server, base } = await startAllRole('under change', { EMC_DATA_DIR: dataDir, EMC_PROVIDER: 'process', EMC_MIN_NODES: String(NODES) });
      servers.push(server);
      const keys = Array.from({ length: KEYS }, (_, i) => `change-${i}`);
      await uploadAll(base, keys, benchImage(IMAGE_BYTES));
      const script = rotatingPaths(keys.map((key) => `/image/${key}`));
      const run = (seconds: number) => load({ url: base, durationS: seconds, script });
      await run(2); // warm up: every key read once, so the nodes hold them all

      /** One load run with `change` started CHANGE_AFTER_MS into it. */
      const during = async (phase: string, change?: () => Promise<unknown>): Promise<Phase> => {
        const running = run(durationS);
        let changeS: number | undefined;
        if (change) {
          await sleep(CHANGE_AFTER_MS);
          const t0 = performance.now();
          await change();
          changeS = (performance.now() - t0) / 1000;
        }
        return { phase, result: await running, changeS };
      };
      const phases: Phase[] = [];
      phases.push(await during(`steady, ${NODES} nodes`));
      phases.push(await during(`resize ${NODES}→${NODES + 1}`, () => callApi(base, `configure_cache?mode=manual&numNodes=${NODES + 1}`)));
      phases.push(
        await during(`one of ${NODES + 1} nodes killed`, async () => {
          const [victim] = await childrenOf(server.child.pid!);
          if (victim === undefined) throw new Error('no cache-node process to kill');
          process.kill(victim, 'SIGKILL');
        }),
      );
      const errors = phases.reduce((n, p) => n + p.result.errors, 0);
      return {
        heading: `look-ups during pool changes, ${KEYS} × ${IMAGE_BYTES / 1024} KB images over cache-node processes, ${CONNECTIONS} connections, ${durationS} s per phase`,
        rows: phases.map(({ phase, result, changeS }) => ({
          phase,
          'req/s': Math.round(result.rps),
          'p50 ms': fixed(result.p50Ms),
          'p99 ms': fixed(result.p99Ms),
          errors: result.errors,
          change: changeS === undefined ? '' : `${fixed(changeS)} s (from ${CHANGE_AFTER_MS / 1000} s in)`,
        })),
        verdicts: [atMost('failed look-ups during resize and node failure', errors, 0, 0)],
        notes: ['change: how long the resize call took (entries moved meanwhile), or the kill; the rest of the run measures the pool afterwards'],
        data: { keys: KEYS, imageBytes: IMAGE_BYTES, nodes: NODES, phases },
      };
    } finally {
      await stopAll(servers);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
