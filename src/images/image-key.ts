import { BadRequestError } from '../http/app-error.js';

export const MAX_KEY_LENGTH = 255;

const FORMAT = /\p{Cf}/u;
const EMOJI_JOINER = /(?<=\p{Extended_Pictographic}\uFE0F?)\u200D(?=\p{Extended_Pictographic})/gu;

/** What is wrong with `key`, or undefined for a key that can be stored. */
function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'key is required (1–255 characters)';
  // Code points never outnumber UTF-16 units: only a long string needs counting.
  const length = key.length > MAX_KEY_LENGTH ? [...key].length : key.length;
  if (length > MAX_KEY_LENGTH) return `key is ${length} characters long; the limit is ${MAX_KEY_LENGTH}`;
  if (/\p{Cc}/u.test(key)) return 'key must not contain control characters';
  if (!key.isWellFormed()) return 'key must be valid Unicode';
  // U+FFFD is what invalid UTF-8 decodes to: two different byte strings would become one key.
  if (key.includes('\uFFFD')) return 'key must be valid UTF-8 (it contains U+FFFD, the replacement for invalid bytes)';
  // Bidi overrides, zero-width and other format characters let one key look like another; a
  // zero-width joiner inside an emoji sequence (👩‍👩‍👧) is the one legitimate use kept.
  if (FORMAT.test(key) && FORMAT.test(key.replace(EMOJI_JOINER, ''))) return 'key must not contain invisible formatting characters (bidi controls, zero-width characters)';
  return undefined;
}

/** SPEC §2: 1–255 characters (code points), no control, format or replacement characters. */
export function validateKey(key: unknown): string {
  const problem = keyProblem(key);
  if (problem) throw new BadRequestError(problem);
  return key as string;
}

/** Whether `key` could have been stored; a look-up of any other string is a miss without asking anyone. */
export function isStorableKey(key: string): boolean {
  return keyProblem(key) === undefined;
}
