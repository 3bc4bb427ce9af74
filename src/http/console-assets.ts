// The web console's files (console/, bundled into dist/console/ by scripts/bundle.mjs),
// served at /console/. Read from disk on the first request and kept: a broker nobody opens
// the console of never reads them.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HttpRequest, type HttpResponse, type TemplatedApp } from 'uWebSockets.js';
import { exchange, send } from './http-support.js';

// src/http/, dist/http/ and dist/bundle/ all sit two levels below the package root.
const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'console');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.js.map': 'application/json',
  'console.css': 'text/css; charset=utf-8',
};

/** `admit` answers 401 itself when the request carries no valid credentials (and returns false). */
export function registerConsole(app: TemplatedApp, admit: (res: HttpResponse, req: HttpRequest) => boolean, directory = CONSOLE_DIR): void {
  const cache = new Map<string, Buffer>();
  const serve = (name: string) => (res: HttpResponse, req: HttpRequest) => {
    if (!admit(res, req)) return;
    const target = exchange(res);
    let body = cache.get(name);
    if (body === undefined) {
      try {
        body = readFileSync(join(directory, name));
        cache.set(name, body);
      } catch {
        send(target, 503, `The console is not built (${join(directory, name)} is missing): run npm run build.\n`, 'text/plain; charset=utf-8');
        return;
      }
    }
    if (target.aborted) return;
    const contents = body;
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('content-type', FILES[name]!).writeHeader('cache-control', 'no-cache').end(contents);
    });
  };
  const redirect = (res: HttpResponse) => {
    res.cork(() => {
      res.writeStatus('302 Found').writeHeader('location', '/console/').end();
    });
  };
  app.get('/', redirect);
  app.get('/favicon.ico', (res) => {
    res.cork(() => res.writeStatus('204 No Content').endWithoutBody());
  });
  app.get('/console', redirect);
  app.get('/console/', serve('index.html'));
  for (const name of Object.keys(FILES)) app.get(`/console/${name}`, serve(name));
}
