import type { CacheEntry } from '../cache/cache-types.js';

/**
 * Binary framing for moving many entries in one body (migration export/import):
 *
 *   "EMF1" | u32 count | count × ( u32 len, key | u32 len, contentType | u32 len, etag | u32 len, bytes )
 *
 * Lengths are big-endian byte counts; strings are UTF-8. The magic and the count
 * make a body from the wrong sender, or one cut short, fail loudly instead of
 * decoding into fewer entries.
 */
const MAGIC = Buffer.from('EMF1', 'latin1');
const U32 = 4;
const HEADER_BYTES = MAGIC.length + U32;

export function encodeEntries(entries: readonly CacheEntry[]): Buffer {
  let size = HEADER_BYTES;
  for (const { key, value } of entries) {
    size += 4 * U32 + Buffer.byteLength(key) + Buffer.byteLength(value.contentType) + Buffer.byteLength(value.etag);
    size += value.bytes.byteLength;
  }
  const frame = Buffer.allocUnsafe(size);
  let offset = MAGIC.copy(frame, 0);
  offset = frame.writeUInt32BE(entries.length, offset);
  const writeString = (text: string): void => {
    const length = frame.write(text, offset + U32, 'utf8');
    frame.writeUInt32BE(length, offset);
    offset += U32 + length;
  };
  for (const { key, value } of entries) {
    writeString(key);
    writeString(value.contentType);
    writeString(value.etag);
    offset = frame.writeUInt32BE(value.bytes.byteLength, offset);
    offset += value.bytes.copy(frame, offset);
  }
  return frame;
}

/** Throws an Error saying where the frame is broken; never reads past its end. */
export function decodeEntries(frame: Buffer): CacheEntry[] {
  if (frame.length < HEADER_BYTES || !frame.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('entry frame: missing the EMF1 header; not an entry frame');
  }
  const count = frame.readUInt32BE(MAGIC.length);
  let offset = HEADER_BYTES;
  const utf8 = new TextDecoder('utf-8', { fatal: true });

  const field = (what: string, index: number): Buffer => {
    if (offset + U32 > frame.length) throw truncated(what, index);
    const length = frame.readUInt32BE(offset);
    offset += U32;
    if (length > frame.length - offset) throw truncated(what, index);
    const slice = frame.subarray(offset, offset + length);
    offset += length;
    return slice;
  };
  const text = (what: string, index: number): string => {
    try {
      return utf8.decode(field(what, index));
    } catch (error) {
      if (error instanceof TypeError) throw new Error(`entry frame: entry ${index} has a ${what} that is not UTF-8`);
      throw error;
    }
  };

  const entries: CacheEntry[] = [];
  for (let index = 0; index < count; index++) {
    const key = text('key', index);
    const contentType = text('content type', index);
    const etag = text('etag', index);
    // A copy, so a stored entry does not keep the whole frame alive (and uncounted) in memory.
    const bytes = Buffer.from(field('bytes', index));
    entries.push({ key, value: { bytes, contentType, etag } });
  }
  if (offset !== frame.length) {
    throw new Error(`entry frame: ${frame.length - offset} bytes left over after ${count} entries`);
  }
  return entries;
}

function truncated(what: string, index: number): Error {
  return new Error(`entry frame: truncated in the ${what} of entry ${index}`);
}
