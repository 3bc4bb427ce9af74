#!/usr/bin/env node
// Generates src/protocol/generated/ from Apache Kafka's JSON message definitions.
//
//   node scripts/generate-protocol.mjs [--spec <messages dir>] [--out <output dir>]
//
// Defaults: --spec scripts/protocol/kafka-messages (Kafka 4.3.1's definitions, vendored; or
// $KAFKA_PROTOCOL_DIR), --out src/protocol/generated.
// The output is deterministic and formatted here; nothing external runs over it. One file per API
// (request and response together) named after its key, one per header and data schema, and index.ts.
//
// For each struct the generator writes one reader and one writer covering every valid version:
// straight-line code with version tests on plain integers, no closures and no reflection.

//
// The work is split along its stages in scripts/protocol/: definitions.mjs (reading the JSON),
// versions.mjs (where each field exists), types.mjs (types, defaults, sizes), emit.mjs (the
// readers and writers) and index-file.mjs (the API table, index.ts and generate()).

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './protocol/index-file.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const VENDORED_SPEC = resolve(repoRoot, 'scripts/protocol/kafka-messages');

function parseArgs(argv) {
  const args = {
    spec: process.env.KAFKA_PROTOCOL_DIR ?? VENDORED_SPEC,
    out: resolve(repoRoot, 'src/protocol/generated'),
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--spec') args.spec = resolve(argv[++i]);
    else if (argv[i] === '--out') args.out = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

export { generate };

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = parseArgs(process.argv.slice(2));
  const { files, apis } = generate(args.spec, args.out);
  console.log(`generated ${files} files (${apis} APIs) into ${args.out}`);
}
