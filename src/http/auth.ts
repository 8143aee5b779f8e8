// Tokens: taken from "Authorization: Bearer TOKEN" or ?token=, compared in constant time
// (digests of equal length, so neither content nor length leaks through timing). Never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from './server.js';

export function requestToken(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return req.query.get('token') ?? undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** True when `given` equals `expected`; an empty expected token never matches. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!expected || given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}
