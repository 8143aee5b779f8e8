// The benchmarks send traffic to this machine only: every target and broker they are given is
// checked here (127.0.0.0/8, ::1, or the name "localhost" where a hostname is allowed).
import { parseIP } from '../../src/config/addresses.js';

/** True for an address in 127.0.0.0/8 or ::1 (and for "localhost" when `hostnames`). */
export function isLoopback(host: string, hostnames = false): boolean {
  if (hostnames && host === 'localhost') return true;
  const ip = parseIP(host);
  if (!ip) return false;
  return ip.family === 4 ? ip.v4 >>> 24 === 127 : ip.v6.every((b, i) => b === (i === 15 ? 1 : 0));
}
