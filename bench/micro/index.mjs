#!/usr/bin/env node
// `npm run bench:micro`: the benchmark.js suites, one after another. Each suite prints its
// results and the ratios that matter (native vs portable CRC32C, mmap vs sendfile delivery).
// Run `npm run build` first: the suites import the compiled code from dist/.

const suites = ['./native.mjs', './codec.mjs'];
for (const suite of suites) {
  const { run } = await import(suite);
  await run();
}
