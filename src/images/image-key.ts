import { BadRequestError } from '../http/app-error.js';

export const MAX_KEY_LENGTH = 255;

/** SPEC §2: 1–255 characters (code points), no control characters. */
export function validateKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new BadRequestError('key is required (1–255 characters)');
  const length = [...key].length;
  if (length > MAX_KEY_LENGTH) throw new BadRequestError(`key is ${length} characters long; the limit is ${MAX_KEY_LENGTH}`);
  if (/\p{Cc}/u.test(key)) throw new BadRequestError('key must not contain control characters');
  if (!key.isWellFormed()) throw new BadRequestError('key must be valid Unicode');
  return key;
}
