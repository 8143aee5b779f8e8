// The only module that imports uWebSockets.js. The official package is GitHub-only, so two npm
// repacks of it are dependencies, each pinned exactly because we load their binaries by file name:
//   @btc-vision/uwebsockets.js      v20.57: Node 20, 22, 24, 25 (ABIs 115, 127, 137, 141), glibc >= 2.38
//   @trufflesuite/uws-js-unofficial v20.30: Node 16, 18, 20 (ABIs 93, 108, 115), older glibc (Debian 12)
// The first whose binary loads on the running Node and C library is used: a supported Node LTS
// in the container image (Debian 13), Node 20 on a Debian 12 host. Each package's own entry
// point is bypassed on purpose: the trufflesuite one silently falls back to a slow JavaScript
// server when no binary matches, which should be refused at start, not discovered under load.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as UwsModule from '@trufflesuite/uws-js-unofficial';

export type { TemplatedApp, HttpResponse, HttpRequest, WebSocket, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
export type Uws = typeof UwsModule;

const require = createRequire(import.meta.url);

interface UwsBuild {
  readonly package: string;
  /** Where the package keeps its binary for this platform, arch and Node ABI, from its folder. */
  readonly binary: (platform: string, arch: string, abi: string) => string;
}

/** Tried in this order: the newer build first. */
export const uwsBuilds: readonly UwsBuild[] = [
  { package: '@btc-vision/uwebsockets.js', binary: (platform, arch, abi) => `uws_${platform}_${arch}_${abi}.node` },
  { package: '@trufflesuite/uws-js-unofficial', binary: (platform, arch, abi) => `binaries/uws_${platform}_${arch}_${abi}.node` },
];

export interface LoadedUws {
  readonly uws: Uws;
  /** "@btc-vision/uwebsockets.js 20.57.0 (uws_linux_x64_137.node)": said in the start-up log. */
  readonly build: string;
  /** Why each build tried before it did not load. */
  readonly skipped: readonly string[];
}

/** The package's folder, found from its entry point (its "exports" hide every other file). */
function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!dir.endsWith(path.join('node_modules', name)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function packageVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown version';
  }
}

/** Loads the first build whose native binary loads here; throws naming why each one did not. */
export function loadUws(builds: readonly UwsBuild[] = uwsBuilds): LoadedUws {
  const skipped: string[] = [];
  for (const build of builds) {
    const file = build.binary(process.platform, process.arch, process.versions.modules);
    try {
      const dir = packageDir(build.package);
      const uws = require(path.join(dir, file)) as Uws;
      if (typeof uws.App !== 'function') throw new Error('the binary exports no App');
      return { uws, build: `${build.package} ${packageVersion(dir)} (${file})`, skipped };
    } catch (err) {
      // The loader's message names the missing file or symbol (e.g. GLIBC_2.38 not found).
      skipped.push(`${build.package}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no uWebSockets.js build loads on Node ${process.version} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}: ${skipped.join('; ')}`);
}
