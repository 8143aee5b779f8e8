// The configuration's public surface. Modules elsewhere import from here (or from load.ts and
// schema.ts directly); the other files in this folder are its internals.
export { parseConfig, loadConfig, type ParseOptions } from './load.js';
export { ConfigError } from './problems.js';
export { configSchema, defaultConfig, type Config } from './schema.js';
export { envPrefix } from './overrides.js';
