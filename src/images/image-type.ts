import { fileTypeFromBuffer } from 'file-type';
import { BadRequestError, AppError } from '../http/app-error.js';

const accepted = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);

const BMP_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);
const BMP_BIT_COUNTS = new Set([1, 2, 4, 8, 16, 24, 32, 64]);
const WEBP_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X']);

/**
 * file-type recognises some formats by a short signature alone ("BM" for BMP, so any text
 * starting with "BMW" would pass). Each accepted type must also hold the header that
 * follows its signature; PNG needs nothing more, file-type already requires its IHDR chunk.
 */
function hasImageHeader(mime: string, bytes: Buffer): boolean {
  switch (mime) {
    case 'image/bmp': {
      // 14-byte file header, then a DIB header of a known size with one plane and a real bit depth.
      if (bytes.length < 26) return false;
      const dibSize = bytes.readUInt32LE(14);
      if (!BMP_HEADER_SIZES.has(dibSize) || bytes.length < 14 + dibSize) return false;
      const [planes, bits] = dibSize === 12 ? [bytes.readUInt16LE(22), bytes.readUInt16LE(24)] : [bytes.readUInt16LE(26), bytes.readUInt16LE(28)];
      return planes === 1 && BMP_BIT_COUNTS.has(bits);
    }
    case 'image/gif':
      // "GIF89a" and the 7-byte logical screen descriptor.
      return bytes.length >= 13;
    case 'image/jpeg': {
      // The start-of-image marker, then one complete marker segment.
      if (bytes.length < 6 || bytes[3]! < 0xc0 || bytes[3] === 0xff) return false;
      const length = bytes.readUInt16BE(4);
      return length >= 2 && 4 + length <= bytes.length;
    }
    case 'image/webp':
      // RIFF header, then a VP8, VP8L or VP8X chunk header.
      return bytes.length >= 20 && WEBP_CHUNKS.has(bytes.toString('latin1', 12, 16));
    default:
      return true;
  }
}

/** The content type, recognised from the bytes (the file name and the client's claim are ignored). */
export async function detectImageType(bytes: Buffer): Promise<string> {
  if (bytes.length === 0) throw new BadRequestError('file is empty');
  const type = await fileTypeFromBuffer(bytes);
  if (!type || !accepted.has(type.mime)) {
    throw new AppError(415, `file is not a PNG, JPEG, GIF, WebP or BMP image${type ? ` (it looks like ${type.mime})` : ''}`);
  }
  if (!hasImageHeader(type.mime, bytes)) {
    throw new AppError(415, `file is not a PNG, JPEG, GIF, WebP or BMP image (it starts like ${type.mime}, but its header is missing or malformed)`);
  }
  return type.mime;
}
