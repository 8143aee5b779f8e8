// Tokens: taken from "Authorization: Bearer TOKEN" or ?token=, compared in constant time
// (digests of equal length, so neither content nor length leaks through timing). Never logged;
// a holder that must keep a token (the tap, to re-check it on reload) keeps its digest only.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from './server.js';

export function requestToken(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return req.query.get('token') ?? undefined;
}

/** SHA-256 of a token: what is kept and compared instead of the token. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Constant-time comparison of two token digests. */
export function digestsMatch(given: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(given, expected);
}

/** True when `given` equals `expected`; an empty expected token never matches. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!expected || given === undefined) return false;
  return digestsMatch(tokenDigest(given), tokenDigest(expected));
}
