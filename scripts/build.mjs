#!/usr/bin/env node
// Builds the native addon (node-gyp, against this Node's own headers, never a download),
// compiles the TypeScript to dist/ (the library entry and its types) and bundles the
// `spate` command into dist/bundle/ (scripts/bundle.mjs). Runs at `npm install` and as
// `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`spate build: ${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
    process.exit(1);
  }
}

// The Node install prefix holds include/node; pointing node-gyp there keeps it offline.
const nodeDir = dirname(dirname(process.execPath));
const gypArgs = ['rebuild'];
if (existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${nodeDir}`);
run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), ...gypArgs]);
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
// The web console is browser code (DOM types): checked on its own, bundled by bundle.mjs.
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'console/tsconfig.json']);
run(process.execPath, [join(root, 'scripts', 'bundle.mjs')]);
