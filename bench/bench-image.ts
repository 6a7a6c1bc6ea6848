import { Buffer } from 'node:buffer';

/** A 100 KB image: a valid PNG signature and header, padded (type detection reads the bytes). */
export function benchImage(size = 100 * 1024): Buffer {
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082',
    'hex',
  );
  return Buffer.concat([png, Buffer.alloc(size - png.length, 7)]);
}
