#!/usr/bin/env node
// CI check: regenerates the protocol codecs into a temporary directory and fails (exit 1) if the
// result differs in any way from the committed src/protocol/generated/.
//
//   node scripts/check-generated.mjs [--spec <messages dir>]

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, VENDORED_SPEC } from './generate-protocol.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(repoRoot, 'src/protocol/generated');
const argv = process.argv.slice(2);
const specIndex = argv.indexOf('--spec');
const spec = specIndex >= 0 ? resolve(argv[specIndex + 1]) : (process.env.KAFKA_PROTOCOL_DIR ?? VENDORED_SPEC);

const scratch = mkdtempSync(join(tmpdir(), 'spate-generated-'));
const fresh = join(scratch, 'generated');
try {
  generate(spec, fresh);
  const list = (dir) => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  const expected = list(fresh);
  const actual = list(committed);
  const problems = [];
  for (const name of expected) {
    if (!actual.includes(name)) problems.push(`missing: ${name}`);
    else if (!readFileSync(join(fresh, name)).equals(readFileSync(join(committed, name)))) problems.push(`differs: ${name}`);
  }
  for (const name of actual) if (!expected.includes(name)) problems.push(`not generated: ${name}`);
  if (problems.length > 0) {
    console.error(`src/protocol/generated is out of date (run \`npm run generate\`):\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log(`src/protocol/generated is up to date (${expected.length} files)`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
