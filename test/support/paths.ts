// Where the harness finds the project, whether it runs from test/, bench/ or their build in dist/:
// the nearest directory above this file that holds the project's package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; ) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'flowgate') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`test/support: no flowgate package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const repoRoot = findRoot();
/** The command line entry point (`flowgate serve`, `flowgate decode`, ...) of a project root. */
export const flowgateBin = (root = repoRoot): string => join(root, 'bin', 'flowgate.js');
/** scripts/kafka.js: starts and stops the project's own broker. */
export const kafkaScript = join(repoRoot, 'scripts', 'kafka.js');
