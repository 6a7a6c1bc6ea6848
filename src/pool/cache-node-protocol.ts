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

/**
 * What a node accepts as a value's metadata (it answers with them as headers): an image media
 * type (the web tier serves a hit's type as is: never text/html) and a strong ETag in the
 * header grammar. Anything else — a CR/LF, a quote inside — would
 * make the node's answers fail, so it is refused at the door.
 */
export const CONTENT_TYPE_PATTERN = '^image/[a-z0-9.+-]{1,100}$';
export const ETAG_PATTERN = '^"[\\x21\\x23-\\x7e]{1,200}"$';

const contentTypeRule = new RegExp(CONTENT_TYPE_PATTERN);
const etagRule = new RegExp(ETAG_PATTERN);

/** Why a value's metadata cannot be cached, or undefined when it can. */
export function valueMetadataProblem(contentType: string, etag: string): string | undefined {
  if (!contentTypeRule.test(contentType)) return `content type ${JSON.stringify(contentType.slice(0, 120))} is not an image media type`;
  if (!etagRule.test(etag)) return `ETag ${JSON.stringify(etag.slice(0, 220))} is not a quoted strong ETag`;
  return undefined;
}
