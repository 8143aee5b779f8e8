// The tap's page (GET /, /tap.js, /tap.css): static files from src/tap/page/, read once at mount
// and served with a strict content security policy (the page only talks to /tap on this origin).
import { readFileSync } from 'node:fs';
import type { HttpServer } from '../http/server.js';
import { projectPath } from '../paths.js';

/** A file of src/tap/page/ (the sources: they are not copied into dist/). */
const pageFile = (name: string): string => projectPath('src', 'tap', 'page', name);
const pageFiles = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/tap.js', file: 'tap.js', type: 'text/javascript; charset=utf-8' },
  { path: '/tap.css', file: 'tap.css', type: 'text/css; charset=utf-8' },
];
const pageHeaders = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // The page URL may carry ?token=: never send it on.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Adds the page's routes; throws naming the file when one cannot be read. */
export function mountTapPage(server: HttpServer): void {
  for (const p of pageFiles) {
    let body: string;
    try {
      body = readFileSync(pageFile(p.file), 'utf8');
    } catch (err) {
      throw new Error(`tap page: cannot read ${pageFile(p.file)}: ${(err as Error).message}`);
    }
    server.get(p.path, () => ({ status: 200, headers: { 'content-type': p.type, ...pageHeaders }, body }));
  }
}
