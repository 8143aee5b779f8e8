#!/usr/bin/env -S node --initial-old-space-size=64
// Built by `npm install` (prepare) into dist/; see src/cli.ts.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
