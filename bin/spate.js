#!/usr/bin/env -S node --initial-heap-size=64
// The `spate` command. The implementation is bundled into dist/bundle/spate.js at install
// (scripts/bundle.mjs): one file loads faster than the ~200 modules tsc writes to dist/.
// --initial-heap-size=64 (also in `npm start` and in the bench): V8 counts the Buffers of
// socket reads and mapped segments against a heap limit that starts at a few MiB, and a
// broker moving 300 MB/s ran 10-20 major GCs a second on an 8 MiB heap; with the limit
// starting at 64 MiB it runs about one per minute (measured with --trace-gc, README
// Benchmarks). It cannot be set at run time, nor in NODE_OPTIONS.
import { main } from '../dist/bundle/spate.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(`spate: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
