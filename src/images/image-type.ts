import { fileTypeFromBuffer } from 'file-type';
import { BadRequestError, AppError } from '../http/app-error.js';

const accepted = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp']);

/** The content type, recognised from the bytes (the file name and the client's claim are ignored). */
export async function detectImageType(bytes: Buffer): Promise<string> {
  if (bytes.length === 0) throw new BadRequestError('file is empty');
  const type = await fileTypeFromBuffer(bytes);
  if (!type || !accepted.has(type.mime)) {
    throw new AppError(415, `file is not a PNG, JPEG, GIF, WebP or BMP image${type ? ` (it looks like ${type.mime})` : ''}`);
  }
  return type.mime;
}
