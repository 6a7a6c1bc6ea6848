// What the cache role's routes and the HTTP cache node agree on, kept in one place.

/** Request headers of `PUT /cache/<key>`: the value's metadata travels beside its raw bytes. */
export const CONTENT_TYPE_HEADER = 'x-emc-content-type';
export const ETAG_HEADER = 'x-emc-etag';

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
