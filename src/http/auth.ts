// Tokens: taken from "Authorization: Bearer TOKEN" or ?token=, compared in constant time
// (digests of equal length, so neither content nor length leaks through timing). Never logged;
// a holder that must keep a token (the tap, to re-check it on reload) keeps its digest only.
// Every check goes through a TokenGate, which counts failures per client address
// (auth-limiter.ts) and refuses an address that failed too often without checking its token.
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthFailureLimiter, clientKey, type AuthLimits } from './auth-limiter.js';
import { httpAuthFailureReasons, zeroCounts, type HttpAuthFailureReason } from '../pipeline/drop-reasons.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Request, Response } from './server.js';

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

/** The limiter's settings in config.yaml (http.auth_*). */
export function authLimits(http: Config['http']): AuthLimits {
  return { maxFailures: http.auth_failures_max, windowMs: http.auth_failure_window_ms, maxAddresses: http.auth_failure_addresses };
}

/** What a token check gives: what the token grants, or the answer refusing the request. */
export type Checked<T> = { ok: true; grant: T } | { ok: false; response: Response };

/**
 * The one place tokens are checked against the per-address limiter: shared by the APIs and the
 * tap, so failures at either count together.
 */
export class TokenGate {
  readonly limiter: AuthFailureLimiter;
  readonly #failures = zeroCounts(httpAuthFailureReasons);
  readonly #log: Logger | undefined;

  constructor(limits: AuthLimits, log?: Logger) {
    this.limiter = new AuthFailureLimiter(limits);
    this.#log = log;
  }

  /** Refusals so far, by reason (counter). */
  failures(): Record<HttpAuthFailureReason, number> {
    return { ...this.#failures };
  }

  /**
   * `verify` the request's token (undefined when none was given) unless its address failed too
   * often (429, the token not looked at). A refusal by `verify` (undefined) counts as a failure
   * and is answered with `refusal`.
   */
  check<T>(req: Request, verify: (token: string | undefined) => T | undefined, refusal: Response): Checked<T> {
    const key = clientKey(req.remoteAddress);
    const now = Date.now();
    const wait = this.limiter.retryAfterMs(key, now);
    if (wait > 0) {
      this.#failures.rate_limited++;
      return { ok: false, response: {
        status: 429,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(Math.ceil(wait / 1000)) },
        body: 'too many failed token attempts from this address: try again later\n',
      } };
    }
    const granted = verify(requestToken(req));
    if (granted !== undefined) return { ok: true, grant: granted };
    if (this.limiter.recordFailure(key, now)) {
      this.#log?.warn('http: too many failed token attempts, refusing the client for a while', { client: key, path: req.path, refusedForMs: this.limiter.windowMs });
    }
    this.#failures.bad_token++;
    return { ok: false, response: refusal };
  }
}
