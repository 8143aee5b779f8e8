// One GET against a local gateway's HTTP endpoint (/metrics, /readyz, /api/*).
import { get } from 'node:http';

/**
 * GET on a fresh connection that is closed after the answer. fetch() keeps the socket alive for
 * 4 s, and the gateway's shutdown waits for open HTTP connections: every stop took 4 s more.
 */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
