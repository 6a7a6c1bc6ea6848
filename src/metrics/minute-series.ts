import { hitRate, missRate } from '../cache/cache-stats.js';
import type { MinutePoint, NodeSample } from './metrics-sink.js';

export const MINUTE_MS = 60_000;

export function floorToMinute(at: Date): Date {
  return new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);
}

type Gauges = Pick<NodeSample, 'items' | 'bytes'>;
type Bucket = { lookups: number; hits: number; misses: number; requests: number; last: Map<string, Gauges> };
type SeriesRow = Pick<NodeSample, 'nodeId' | 'at' | 'lookups' | 'hits' | 'misses' | 'requests' | 'items' | 'bytes'>;

/**
 * Buckets samples into one-minute points starting at `start` (already floored).
 * Rows must be in time order, so the last row seen per node holds its last gauges.
 * Rows outside the window are ignored.
 */
export function bucketByMinute(rows: Iterable<SeriesRow>, start: Date, minutes: number): MinutePoint[] {
  if (!Number.isInteger(minutes) || minutes < 0) throw new RangeError(`minutes must be a whole number >= 0, got ${minutes}`);
  const buckets: (Bucket | undefined)[] = new Array(minutes).fill(undefined);
  for (const row of rows) {
    const index = Math.floor((row.at.getTime() - start.getTime()) / MINUTE_MS);
    if (index < 0 || index >= minutes) continue;
    const bucket = (buckets[index] ??= { lookups: 0, hits: 0, misses: 0, requests: 0, last: new Map() });
    bucket.lookups += row.lookups;
    bucket.hits += row.hits;
    bucket.misses += row.misses;
    bucket.requests += row.requests;
    bucket.last.set(row.nodeId, { items: row.items, bytes: row.bytes });
  }
  return buckets.map((bucket, i) => toPoint(new Date(start.getTime() + i * MINUTE_MS), bucket));
}

function toPoint(at: Date, bucket: Bucket | undefined): MinutePoint {
  if (!bucket) {
    return { at, nodes: null, lookups: null, hits: null, misses: null, missRate: null, hitRate: null, items: null, bytes: null, requests: null };
  }
  const { lookups, hits, misses, requests, last } = bucket;
  let items = 0;
  let bytes = 0;
  for (const gauges of last.values()) {
    items += gauges.items;
    bytes += gauges.bytes;
  }
  return {
    at,
    nodes: last.size,
    lookups,
    hits,
    misses,
    missRate: missRate(bucket),
    hitRate: hitRate(bucket),
    items,
    bytes,
    requests,
  };
}
