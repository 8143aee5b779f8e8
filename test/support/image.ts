// The container image from tests and benches: scripts/image.js (plain JavaScript, so that
// `npm run image` needs no build) loaded with its types, podman with this machine's flags, and
// free loopback ports for a container on the host network.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import { imageScript } from './paths.js';

/** What is used of scripts/image.js. */
export interface ImageScript {
  buildImage(o: { tag: string; quiet?: boolean; log?: (line: string) => void }): { tag: string; size: number; seconds: number };
  removeImage(tag: string): void;
  missingImageTools(): string[];
  podmanGlobalArgs: string[];
  podmanRunArgs: string[];
}

export const imageTools = (await import(pathToFileURL(imageScript).href)) as ImageScript;

/** podman with the global flags this machine needs; never throws (the caller reads status). */
export function podman(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('podman', [...imageTools.podmanGlobalArgs, ...args], { encoding: 'utf8' });
}

/** Why the image cannot be built and run here, or undefined when it can. */
export function imageSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'podman runs as root here (vfs storage, runc); not root';
  const missing = imageTools.missingImageTools();
  if (missing.length) return `no ${missing.join(' or ')} (apt-get install podman buildah runc mmdebstrap; .ci/run does)`;
  return undefined;
}

export async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
