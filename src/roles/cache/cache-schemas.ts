// Schemas shared by the cache node's routes and documented in one place.

/** `/cache/<key>`: the key is everything after the prefix, percent-decoded by the router. */
export const KeyParamsSchema = {
  type: 'object',
  required: ['*'],
  properties: { '*': { type: 'string' } },
} as const;
export type KeyParams = { '*': string };

export const KeysBodySchema = {
  type: 'object',
  required: ['keys'],
  properties: { keys: { type: 'array', items: { type: 'string' } } },
} as const;
export type KeysBody = { keys: string[] };

export const KeyListSchema = { type: 'array', items: { type: 'string' } } as const;

/**
 * A body of raw bytes (an image, or an entry frame). Untyped on purpose: it arrives
 * and leaves as a Buffer, which JSON Schema cannot describe and must not coerce.
 */
export const BinarySchema = { description: 'raw bytes, application/octet-stream' } as const;

export const CountSchema = (name: string) =>
  ({ type: 'object', required: [name], properties: { [name]: { type: 'integer' } } }) as const;

export const FlagSchema = (name: string) =>
  ({ type: 'object', required: [name], properties: { [name]: { type: 'boolean' } } }) as const;

/**
 * Types only: range and policy are checked by the store, whose RangeError names
 * the bad field in the words the rest of the product uses.
 */
export const CacheConfigBodySchema = {
  type: 'object',
  required: ['capacityMb', 'policy'],
  properties: { capacityMb: { type: 'number' }, policy: { type: 'string' } },
} as const;

const counter = { type: 'integer' } as const;
export const CacheStatsSchema = {
  type: 'object',
  required: ['lookups', 'hits', 'misses', 'puts', 'evictions', 'rejectedTooLarge', 'requests', 'items', 'bytes', 'capacityBytes', 'policy'],
  properties: {
    lookups: counter,
    hits: counter,
    misses: counter,
    puts: counter,
    evictions: counter,
    rejectedTooLarge: counter,
    requests: counter,
    items: counter,
    bytes: counter,
    capacityBytes: counter,
    policy: { type: 'string' },
  },
} as const;
