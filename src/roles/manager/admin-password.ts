import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

// scrypt cost: ~50 ms per check here, enough to make guessing slow, cheap enough for one admin.
const N = 1 << 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const MAX_MEM = 64 * 1024 * 1024;

/**
 * The cost for a password from generatePassword(): 96 random bits leave no guess near it, so
 * stretching buys nothing there, and the full cost would take ~90 ms of every `npm start`.
 */
export const GENERATED_PASSWORD_COST = 1 << 10;

/** `scrypt$N$r$p$salt$hash`, so the cost can change without breaking stored hashes. */
export function hashPassword(password: string, cost = N): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEY_LENGTH, { N: cost, r: R, p: P, maxmem: MAX_MEM });
  return ['scrypt', cost, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

export function verifyPassword(password: string, stored: string): boolean {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: MAX_MEM,
  });
  return timingSafeEqual(actual, expected);
}

export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}
