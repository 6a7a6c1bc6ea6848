import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CacheEntry } from '../src/cache/cache-types.js';
import { decodeEntries, encodeEntries } from '../src/pool/entry-frames.js';

const entry = (key: string, bytes: string | Buffer, contentType = 'image/png', etag = '"v1"'): CacheEntry => ({
  key,
  value: { bytes: Buffer.from(bytes), contentType, etag },
});

const sample: CacheEntry[] = [
  entry('a/b c', 'hello'),
  entry('ünïcødé/😀', Buffer.from([0, 1, 2, 255]), 'image/jpeg', '"ü"'),
  entry('', '', '', ''),
];

describe('entry frames', () => {
  it('round-trips entries in order, empty fields included', () => {
    assert.deepEqual(decodeEntries(encodeEntries(sample)), sample);
    assert.deepEqual(decodeEntries(encodeEntries([])), []);
  });

  it('round-trips arbitrary entries (property)', () => {
    const entryArb = fc
      .tuple(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 200 }), fc.string(), fc.string({ unit: 'grapheme' }))
      .map(([key, bytes, contentType, etag]) => entry(key, Buffer.from(bytes), contentType, etag));
    fc.assert(fc.property(fc.array(entryArb, { maxLength: 10 }), (entries) => {
      assert.deepEqual(decodeEntries(encodeEntries(entries)), entries);
    }));
  });

  it('copies the bytes out of the frame, so entries do not pin it', () => {
    const frame = encodeEntries(sample);
    const [first] = decodeEntries(frame);
    frame.fill(0);
    assert.equal(first?.value.bytes.toString(), 'hello');
  });

  it('rejects every truncation with an Error, never reading out of bounds', () => {
    const frame = encodeEntries(sample);
    for (let length = 0; length < frame.length; length++) {
      assert.throws(() => decodeEntries(frame.subarray(0, length)), /entry frame: (truncated|missing)/, `length ${length}`);
    }
  });

  it('rejects a foreign body, trailing bytes, huge lengths and bad UTF-8', () => {
    assert.throws(() => decodeEntries(Buffer.from('{"keys":[]}')), /missing the EMF1 header/);
    const frame = encodeEntries([entry('k', 'v')]);
    assert.throws(() => decodeEntries(Buffer.concat([frame, Buffer.from([0])])), /1 bytes left over/);

    const hugeCount = Buffer.from(frame);
    hugeCount.writeUInt32BE(0xffffffff, 4);
    assert.throws(() => decodeEntries(hugeCount), /truncated in the key of entry 1/);
    const hugeKey = Buffer.from(frame);
    hugeKey.writeUInt32BE(0xffffffff, 8);
    assert.throws(() => decodeEntries(hugeKey), /truncated in the key of entry 0/);

    const badUtf8 = Buffer.from(frame);
    badUtf8[12] = 0xff; // the key's only byte
    assert.throws(() => decodeEntries(badUtf8), /entry 0 has a key that is not UTF-8/);
  });
});
