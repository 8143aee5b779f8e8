// Where the harness finds the project, whether it runs from test/, bench/ or their build in dist/:
// src/paths.ts is the one definition of the project root.
import { join } from 'node:path';
import { projectRoot } from '../../src/paths.js';

export const repoRoot = projectRoot();
/** The command line entry point (`flowgate serve`, `flowgate decode`, ...) of a project root. */
export const flowgateBin = (root = repoRoot): string => join(root, 'bin', 'flowgate.js');
/** scripts/kafka.js: starts and stops the project's own broker. */
export const kafkaScript = join(repoRoot, 'scripts', 'kafka.js');
/** scripts/image.js: builds the container image with podman. */
export const imageScript = join(repoRoot, 'scripts', 'image.js');
