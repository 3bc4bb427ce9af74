#!/usr/bin/env node
// Bundles the `spate` command into dist/bundle/ with esbuild (and the web console into
// dist/console/, at the end): spate.js (the CLI and the
// whole broker, what bin/spate.js loads) and the two worker-thread entries piscina starts
// by file name, worker.js (compression) and cleaner-worker.js (log compaction).
//
// Why: Node resolves, reads and compiles each ES module file apart; the ~200 files of
// dist/ cost more at start than one file of the same code. The bundle lives two folders
// below the package root, as dist/<area>/<file>.js does, so the paths the code resolves
// from import.meta.url (the native addon at ../../build/Release/spate.node, the workers
// next to the module that starts them) are the same in both layouts. npm packages stay
// outside the bundle (`packages: 'external'`): the codec libraries carry native or
// WebAssembly parts and are loaded from node_modules only when a batch needs them.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// src/log/log-cleaner.ts imports piscina statically although it makes its pool only when a
// compacted partition needs cleaning: loading piscina (13 CommonJS files) cost every start
// about 8 ms and 6 MiB. In the bundle a static import of piscina gets a stand-in whose
// constructor loads the real one on first use. (pool.ts's `await import('piscina')` is
// lazy already and stays as it is.)
const lazyPiscina = {
  name: 'lazy-piscina',
  setup(build) {
    build.onResolve({ filter: /^piscina$/ }, (args) => (args.kind === 'import-statement' ? { path: 'piscina', namespace: 'lazy-piscina' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-piscina' }, () => ({
      loader: 'js',
      contents: [
        "import { createRequire } from 'node:module';",
        'let loaded;',
        'export class Piscina {',
        '  constructor(options) {',
        "    loaded ??= createRequire(import.meta.url)('piscina');",
        '    return new loaded.Piscina(options);',
        '  }',
        '}',
      ].join('\n'),
    }));
  },
};

// prom-client is bundled (it is loaded only with the HTTP side, see below) so that one of its
// requires can be replaced: lib/metrics/processCpuTotal.js requires @opentelemetry/api at
// load for exemplars, which Spate never enables, and that package alone cost every start with
// an HTTP listener about 30 ms and 7 MiB. Its stand-in loads the real package on first use.
const bundledPromClient = {
  name: 'bundled-prom-client',
  setup(build) {
    build.onResolve({ filter: /^(prom-client|tdigest|bintrees)(\/.*)?$/ }, (args) => ({ path: createRequire(join(args.resolveDir, 'x')).resolve(args.path) }));
    build.onResolve({ filter: /^@opentelemetry\/api$/ }, (args) =>
      args.namespace === 'lazy-otel' ? { path: args.path, external: true } : { path: 'otel', namespace: 'lazy-otel' },
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-otel' }, () => ({
      loader: 'js',
      contents: [
        "import { createRequire } from 'node:module';",
        'let loaded;',
        "const real = () => (loaded ??= createRequire(import.meta.url)('@opentelemetry/api'));",
        'export const trace = { getSpan: (...args) => real().trace.getSpan(...args) };',
        'export const context = { active: () => real().context.active() };',
      ].join('\n'),
    }));
  },
};

// Chunk names carry a content hash: start from an empty folder so stale chunks do not pile up.
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: {
    spate: 'src/cli/main.ts',
    worker: 'src/compression/worker.ts',
    'cleaner-worker': 'src/log/cleaner-worker.ts',
  },
  outdir: 'dist/bundle',
  bundle: true,
  // Modules reached only through import() (the HTTP gateway and the metrics, the etcd
  // cluster store, the codecs) go into chunks of their own, loaded when first needed; the
  // chunks sit next to spate.js, so paths resolved from import.meta.url stay the same.
  splitting: true,
  chunkNames: '[name]-[hash]',
  // Bundled CommonJS (prom-client) requires Node's built-in modules: give the ESM output a require.
  banner: { js: "import { createRequire as __spateCreateRequire } from 'node:module'; const require = __spateCreateRequire(import.meta.url);" },
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  // Whitespace only: names stay as written, so stack traces still read as the sources.
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  // With verbatimModuleSyntax (tsconfig.json) `import { type X } from './m.js'` keeps a bare
  // `import './m.js'`, so a module imported for its types alone was still loaded and run:
  // log-cleaner.ts's types from compaction.ts pulled the snappy, lz4 and zstd libraries
  // into every start (about 10 MiB). The bundle drops imports whose bindings are only types,
  // as TypeScript does without that option; imports written for their effect
  // (`import './m.js'`) stay.
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: false } },
  plugins: [lazyPiscina, bundledPromClient],
});

// The web console (console/): the browser code bundled into one ES module, with its page and
// stylesheet, into dist/console/, which the HTTP listener serves at /console/. Nothing is
// fetched at run time but the broker's own API.
await build({
  absWorkingDir: root,
  entryPoints: { app: 'console/app.ts' },
  outdir: 'dist/console',
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
mkdirSync(join(root, 'dist', 'console'), { recursive: true });
for (const file of ['index.html', 'console.css']) copyFileSync(join(root, 'console', file), join(root, 'dist', 'console', file));
