#!/usr/bin/env node
// FlowGate's container image, built with podman from Debian packages (no Docker Hub, no registry).
//
//   node scripts/image.js build [--tag NAME] [--release trixie] [--mirror URL] [--refresh-base]
//                                   (npm run image) make the two base root filesystems with
//                                   mmdebstrap if missing, then build deploy/container/Containerfile
//   node scripts/image.js remove [--tag NAME]
//                                   remove the image (the bases stay for the next build)
//
// Bases, both from Debian `--release` (13, trixie: glibc 2.41, so the current uWebSockets.js loads):
//   localhost/flowgate-build-base:RELEASE    minbase + curl and ca-certificates (fetches Node and npm)
//   localhost/flowgate-runtime-base:RELEASE  packages extracted, none configured: glibc, libstdc++,
//                                            time zones, netbase. No shell, no package manager.
// With Docker instead: docker build -f deploy/container/Containerfile -t flowgate . (debian:trixie-slim).
//
// podman runs with the flags that work on this kind of machine (see README): vfs storage (no
// overlay here), runc (crun fails on its cgroups), cgroupfs, host network, explicit ulimits (the
// defaults are refused). Tests and benches import podmanGlobalArgs and podmanRunArgs from here
// (test/support/image.ts).
// Nothing but Node's standard library is used.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..');
const WORK_DIR = path.join(REPO_ROOT, '.image');
const CONTAINERFILE = path.join('deploy', 'container', 'Containerfile');

export const DEFAULT_TAG = 'localhost/flowgate:latest';
export const DEFAULT_RELEASE = 'trixie';
export const podmanGlobalArgs = ['--storage-driver', 'vfs', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs'];
export const podmanRunArgs = ['--network', 'host', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];

const bases = {
  build: { variant: 'minbase', packages: ['curl', 'ca-certificates'] },
  runtime: { variant: 'extract', packages: ['base-files', 'libc6', 'libgcc-s1', 'libstdc++6', 'tzdata', 'netbase'] },
};

/** Which of podman and mmdebstrap are missing (empty when both are there). */
export function missingImageTools() {
  return ['podman', 'mmdebstrap'].filter((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0);
}

function run(cmd, args, { quiet = false } = {}) {
  const result = spawnSync(cmd, args, { cwd: REPO_ROOT, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8' });
  if (result.error) throw new Error(`${cmd}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}${quiet ? `: ${(result.stderr || '').trim().slice(-2000)}` : ''}`);
  }
  return (result.stdout || '').trim();
}

function podman(args, options) {
  return run('podman', [...podmanGlobalArgs, ...args], options);
}

function imageExists(name) {
  return spawnSync('podman', [...podmanGlobalArgs, 'image', 'exists', name], { stdio: 'ignore' }).status === 0;
}

/** Makes one base root filesystem with mmdebstrap and imports it into podman's storage. */
function makeBase(kind, { release, mirror, refresh, log }) {
  const name = `localhost/flowgate-${kind}-base:${release}`;
  if (!refresh && imageExists(name)) return name;
  const { variant, packages } = bases[kind];
  fs.mkdirSync(WORK_DIR, { recursive: true });
  const tarball = path.join(WORK_DIR, `${kind}-${release}.tar`);
  log(`${name}: mmdebstrap --variant=${variant} ${packages.join(',')}`);
  run('mmdebstrap', ['--quiet', `--variant=${variant}`, `--include=${packages.join(',')}`, release, tarball, ...(mirror ? [mirror] : [])]);
  podman(['import', '--quiet', tarball, name], { quiet: true });
  fs.rmSync(tarball, { force: true });
  return name;
}

/** Builds the image; returns its tag, size in bytes and the build's duration. */
export function buildImage({ tag = DEFAULT_TAG, release = DEFAULT_RELEASE, mirror, refreshBase = false, quiet = false, log = (line) => process.stderr.write(`image: ${line}\n`) } = {}) {
  const missing = missingImageTools();
  if (missing.length) throw new Error(`the image needs ${missing.join(' and ')} (Debian: apt-get install podman buildah runc mmdebstrap)`);
  const started = Date.now();
  const buildBase = makeBase('build', { release, mirror, refresh: refreshBase, log });
  const runtimeBase = makeBase('runtime', { release, mirror, refresh: refreshBase, log });
  // The host's CA bundle as the build secret build-ca: downloads behind a TLS-inspecting proxy
  // then work in the build as they do on the host (the Containerfile says how it is used).
  const caBundle = [process.env.NODE_EXTRA_CA_CERTS, process.env.SSL_CERT_FILE, '/etc/ssl/certs/ca-certificates.crt'].find((file) => file && fs.existsSync(file));
  log(`building ${tag} from ${CONTAINERFILE}${caBundle ? ` (build-ca: ${caBundle})` : ''}`);
  // --layers=false: with vfs storage every cached layer is a full copy of the file system.
  podman(['build', '--layers=false', '--format', 'docker', ...podmanRunArgs,
    '--build-arg', `BUILD_BASE=${buildBase}`, '--build-arg', `RUNTIME_BASE=${runtimeBase}`,
    ...(caBundle ? ['--secret', `id=build-ca,src=${caBundle}`] : []),
    '-f', CONTAINERFILE, '-t', tag, '.'], { quiet });
  spawnSync('podman', [...podmanGlobalArgs, 'image', 'prune', '--force'], { stdio: 'ignore' });
  const size = Number(podman(['image', 'inspect', '--format', '{{.Size}}', tag], { quiet: true }));
  return { tag, size, seconds: (Date.now() - started) / 1000 };
}

export function removeImage(tag = DEFAULT_TAG) {
  if (imageExists(tag)) podman(['rmi', '--force', tag], { quiet: true });
}

function option(argv, name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
}

async function main(argv) {
  const [command = 'build', ...rest] = argv;
  const tag = option(rest, '--tag', DEFAULT_TAG);
  if (command === 'build') {
    const built = buildImage({ tag, release: option(rest, '--release', DEFAULT_RELEASE), mirror: option(rest, '--mirror', undefined), refreshBase: rest.includes('--refresh-base') });
    process.stdout.write(`${built.tag}: ${(built.size / 1e6).toFixed(1)} MB, built in ${built.seconds.toFixed(0)} s\n`);
  } else if (command === 'remove') {
    removeImage(tag);
  } else {
    process.stderr.write('usage: node scripts/image.js build|remove [--tag NAME] [--release R] [--mirror URL] [--refresh-base]\n');
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code), (err) => {
    process.stderr.write(`image: ${err.message}\n`);
    process.exitCode = 1;
  });
}
