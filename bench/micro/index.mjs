#!/usr/bin/env node
// `npm run bench:micro`: the benchmark.js suites, one after another. Each suite prints its
// results and the ratios that matter (native vs portable CRC32C, mmap vs sendfile delivery;
// hot-path.mjs: each step of a produce and a fetch request, with the garbage it leaves;
// metrics-hook.mjs: what the /metrics request hook adds to a Produce request).
// Run `npm run build` first: the suites import the compiled code from dist/.

const suites = ['./native.mjs', './codec.mjs', './hot-path.mjs', './metrics-hook.mjs'];
for (const suite of suites) {
  const { run } = await import(suite);
  await run();
}
