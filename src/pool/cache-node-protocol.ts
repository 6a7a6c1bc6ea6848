// What the cache role's routes and the HTTP cache node agree on, kept in one place.

/** Request headers of `PUT /cache/<key>`: the value's metadata travels beside its raw bytes. */
export const CONTENT_TYPE_HEADER = 'x-emc-content-type';
export const ETAG_HEADER = 'x-emc-etag';

/** Request header of `GET /cache/<key>`: how many look-ups this one request answers (default 1). */
export const LOOKUPS_HEADER = 'x-emc-lookups';
export const MAX_LOOKUPS = 100_000;

/**
 * Set on a `404` that is a cache miss, so a client never mistakes "no such route"
 * (a misconfigured address, another role) for a miss.
 */
export const MISS_HEADER = 'x-emc-cache';
export const MISS = 'miss';

/**
 * The path of one key under `prefix` (`/cache/` or `/peek/`). Keys may hold any
 * character; a key that is exactly `.` or `..` is escaped further, because URL
 * parsers resolve dot segments before routing.
 */
export function keyPath(prefix: string, key: string): string {
  const encoded = encodeURIComponent(key);
  return prefix + (encoded === '.' || encoded === '..' ? encoded.replaceAll('.', '%2E') : encoded);
}
