#!/usr/bin/env node
// The `spate` command. The implementation is compiled to dist/ at install.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (error) => {
    console.error(`spate: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
