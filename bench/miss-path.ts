// (b) The miss path: GET /image/<key> where every look-up misses, reads the row and
// the object, and fills the cache. 2000 distinct 20 KB images against 1 MB of cache
// (about 50 of them): by the time a key comes round again it was evicted long ago.
// The hit path of one of the same 20 KB images, on the same server, gives the ratio.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchImage } from './bench-image.js';
import { stopAll, type Server } from './bench-processes.js';
import { atLeast, fixed, median, percent } from './bench-stats.js';
import type { Bench, BenchOutcome } from './bench-types.js';
import { callApi, startAllRole, uploadAll } from './web-server.js';
import { CONNECTIONS, load, rotatingPaths, rounds } from './wrk.js';

const KEYS = 2000;
const IMAGE_BYTES = 20 * 1024;
const CACHE_MB = 1;
const STATS_INTERVAL_S = 1;

export const missPathBench: Bench = {
  id: 'b',
  usesWrk: true,
  name: 'miss path',
  async run({ runs, durationS }): Promise<BenchOutcome> {
    const dataDir = await mkdtemp(join(tmpdir(), 'emc-bench-miss-'));
    const servers: Server[] = [];
    try {
      const { server, base } = await startAllRole('miss path', { EMC_DATA_DIR: dataDir, EMC_STATS_INTERVAL_S: String(STATS_INTERVAL_S) });
      servers.push(server);
      await callApi(base, `configure_cache?cacheSize=${CACHE_MB}`);
      const keys = Array.from({ length: KEYS }, (_, i) => `miss-${i}`);
      const uploadStarted = performance.now();
      await uploadAll(base, keys, benchImage(IMAGE_BYTES));
      const uploadS = (performance.now() - uploadStarted) / 1000;

      const script = rotatingPaths(keys.map((key) => `/image/${key}`));
      const misses = (durationS: number) => load({ url: base, durationS, script });
      await misses(2); // warm up: JIT, connections
      const miss = await rounds(runs, () => misses(durationS));
      // The server's own count, not ours: misses / GET look-ups over the last minute, which
      // so far held only miss-path traffic (the hit runs come after this read). Waiting two
      // publish intervals lets the last run's counts reach the metrics table.
      await sleep(2 * STATS_INTERVAL_S * 1000 + 500);
      const missRate = Number((await callApi(base, 'getRate?rate=miss')).value);

      const hitUrl = `${base}/image/${keys[0]}`;
      await load({ url: hitUrl, durationS: 2 });
      const hit = await rounds(runs, () => load({ url: hitUrl, durationS }));

      const missMedian = median(miss.rps);
      const hitMedian = median(hit.rps);
      const ratio = missMedian / hitMedian;
      return {
        heading: `miss path vs hit path, ${KEYS} × ${IMAGE_BYTES / 1024} KB images, ${CACHE_MB} MB cache, ${CONNECTIONS} connections, median of ${runs} × ${durationS} s`,
        rows: [
          { path: 'miss (every look-up reads the store)', 'median req/s': Math.round(missMedian), 'ratio to hit': fixed(ratio), 'miss rate': percent(missRate), runs: miss.rps.map(Math.round).join(' / '), errors: miss.errors },
          { path: 'hit (one key, same server)', 'median req/s': Math.round(hitMedian), 'ratio to hit': fixed(1), 'miss rate': '', runs: hit.rps.map(Math.round).join(' / '), errors: hit.errors },
        ],
        verdicts: [atLeast('measured miss rate (the run really missed)', missRate, 0.95)],
        notes: [
          'no product target for miss-path throughput: informational',
          `miss rate from /api/getRate?rate=miss over the minute of miss runs; setup uploaded ${KEYS} images in ${uploadS.toFixed(1)} s`,
        ],
        data: { keys: KEYS, imageBytes: IMAGE_BYTES, cacheMb: CACHE_MB, missRate, miss, hit, missMedian, hitMedian, ratio, setupUploadS: uploadS },
      };
    } finally {
      await stopAll(servers);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
