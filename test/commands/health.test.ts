// `flowgate health` (the image's HEALTHCHECK): asks /readyz where http.listen says, exit 0 only
// on 200. Against a small HTTP server that answers what the case needs, in a child process so the
// real exit code and stderr are seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readyzUrl } from '../../src/commands/health.js';
import { repoRoot } from '../support/paths.js';

const healthModule = new URL('../../src/commands/health.js', import.meta.url).href;
const runner = 'const [url, ...args] = process.argv.slice(1); const { runHealth } = await import(url); process.exitCode = await runHealth(args);';

/** Runs `flowgate health ARGS` with the repo's config.yaml; resolves to its exit code and stderr. */
function health(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', runner, healthModule, '--config', 'config.yaml', ...args],
    { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

async function serving(status: number, t: { after(fn: () => void): void }): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"ready":true}' : '{"ready":false,"problems":["worker 0: not connected to Kafka"]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return { port: (server.address() as { port: number }).port, paths };
}

test('a wildcard listen address is asked on the loopback of its family; others as they are', () => {
  assert.equal(readyzUrl('0.0.0.0:8080'), 'http://127.0.0.1:8080/readyz');
  assert.equal(readyzUrl('[::]:9000'), 'http://[::1]:9000/readyz');
  assert.equal(readyzUrl('10.1.2.3:8080'), 'http://10.1.2.3:8080/readyz');
  assert.equal(readyzUrl('[fd00::5]:80'), 'http://[fd00::5]:80/readyz');
});

test('ready (200) exits 0, asking /readyz on the port --set gives', async (t) => {
  const server = await serving(200, t);
  assert.deepEqual(await health(['--set', `http.listen=127.0.0.1:${server.port}`]), { code: 0, stderr: '' });
  assert.deepEqual(server.paths, ['/readyz']);
});

test('not ready (503) exits 1 with the answer on stderr', async (t) => {
  const server = await serving(503, t);
  const r = await health(['--set', `http.listen=127.0.0.1:${server.port}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /answered 503: .*not connected to Kafka/);
});

test('nothing listening exits 1 naming the address and the cause', async () => {
  const closed = await new Promise<number>((resolve) => { // a port that was free a moment ago
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
  const r = await health(['--set', `http.listen=127.0.0.1:${closed}`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`http://127\\.0\\.0\\.1:${closed}/readyz: fetch failed \\(ECONNREFUSED\\)`));
});

test('a bad configuration exits 1 with the problem, asking nothing', async () => {
  const r = await health(['--set', 'http.listen=nowhere']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /http\.listen/);
});
