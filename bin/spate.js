#!/usr/bin/env node
// The `spate` command. The implementation is bundled into dist/bundle/spate.js at install
// (scripts/bundle.mjs): one file loads faster than the ~200 modules tsc writes to dist/.
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
