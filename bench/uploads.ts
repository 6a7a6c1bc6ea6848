// (c) Uploads: POST /api/upload of a 100 KB PNG at 50 connections. Bodies are built once
// for a fixed set of keys that rotate across connections, so after the first round every
// upload replaces an image: write the object, swap the row, invalidate, delete the old object.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchImage } from './bench-image.js';
import { stopAll, type Server } from './bench-processes.js';
import { median } from './bench-stats.js';
import type { Bench, BenchOutcome } from './bench-types.js';
import { multipartUpload, startAllRole } from './web-server.js';
import { CONNECTIONS, load, rotatingPosts, rounds } from './wrk.js';

const KEYS = 64;

export const uploadsBench: Bench = {
  id: 'c',
  usesWrk: true,
  name: 'uploads/s',
  async run({ runs, durationS }): Promise<BenchOutcome> {
    const dataDir = await mkdtemp(join(tmpdir(), 'emc-bench-upload-'));
    const servers: Server[] = [];
    try {
      const { server, base } = await startAllRole('uploads', { EMC_DATA_DIR: dataDir });
      servers.push(server);
      const image = benchImage();
      // Bodies are files wrk reads once; the multipart boundary is the same for all of them.
      const files = Array.from({ length: KEYS }, (_, i) => join(dataDir, `upload-${i}.body`));
      let contentType = '';
      for (const [i, file] of files.entries()) {
        const upload = multipartUpload(`upload-${i}`, image);
        contentType = upload.contentType;
        await writeFile(file, upload.body);
      }
      const script = rotatingPosts('/api/upload', contentType, files);
      const uploads = (durationS: number) => load({ url: base, durationS, script });
      await uploads(2); // warm up, and every key exists from here on
      const { rps, errors } = await rounds(runs, () => uploads(durationS));
      return {
        heading: `uploads, 100 KB PNG, ${KEYS} keys re-uploaded in turn, ${CONNECTIONS} connections, median of ${runs} × ${durationS} s`,
        rows: [{ target: 'POST /api/upload (SQLite + files, in-process shards)', 'median uploads/s': Math.round(median(rps)), runs: rps.map(Math.round).join(' / '), errors }],
        verdicts: [],
        notes: ['no product target for uploads/s: informational'],
        data: { keys: KEYS, imageBytes: image.length, uploadsPerSecond: rps, median: median(rps), errors },
      };
    } finally {
      await stopAll(servers);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
};
