// Stopping the HTTP server ends every connection it holds, idle keep-alive ones included: a
// Prometheus scraper keeps its connection open between scrapes, and uWS would otherwise keep
// the process alive (about 10 s) after SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { parseConfig } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway.js';
import { startHttp } from '../../src/http/endpoints.js';
import { createLogger } from '../../src/log.js';

test('closing the server closes an idle keep-alive connection at once', async (t) => {
  const config = parseConfig(`listen: { udp: ["127.0.0.1:0"] }
http: { listen: "127.0.0.1:0" }
workers: 1
kafka: { sink: discard }
stats: { log_interval_s: 0 }
`);
  const log = createLogger('error', {}, () => undefined);
  const gateway = await startGateway(config, log);
  t.after(() => gateway.stop());
  const server = await startHttp(gateway, log);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(req.socket!) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(socket.destroyed, false, 'the connection is kept alive after the response');
  const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
  server.close();
  // uWS's own idle timeout is 10 s: a connection still open after 3 s was not closed by close().
  const outcome = await Promise.race([closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 3_000))]);
  assert.equal(outcome, 'closed');
});
