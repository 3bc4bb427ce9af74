// Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function (the
// samples whose top frame it was), and per source file, as shares of the time the broker
// was not idle. --cpu-prof covers the whole process, so for a workload the summary keeps
// only the samples from the first request dispatched to the start of the shutdown: module
// loading before, and the shutdown's flush of every written segment after, are not the
// workload's cost.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const META = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url, root) {
  if (!url) return '';
  try {
    const path = url.startsWith('file://') ? fileURLToPath(url) : url;
    return path.startsWith('/') ? relative(root, path) : path;
  } catch {
    return url;
  }
}

/** For each node id, whether a frame named `name` (in a file whose URL contains `urlPart`) is on its stack. */
function stackContains(profile, name, urlPart) {
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const memo = new Map();
  const check = (id) => {
    if (memo.has(id)) return memo.get(id);
    const { callFrame } = byId.get(id);
    let found = callFrame.functionName === name && callFrame.url.includes(urlPart);
    if (!found && parent.has(id)) found = check(parent.get(id));
    memo.set(id, found);
    return found;
  };
  return check;
}

/** @param {'workload' | 'all'} window which samples to keep (see the header). */
export function summariseProfile(file, root, window = 'workload', top = 15) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let begin = 0;
  let end = profile.samples.length;
  if (window === 'workload') {
    const inDispatch = stackContains(profile, 'dispatch', 'server/dispatcher');
    const inShutdown = stackContains(profile, 'shutdown', 'server/broker-server');
    const first = profile.samples.findIndex((id) => inDispatch(id));
    const last = profile.samples.findIndex((id) => inShutdown(id));
    if (first >= 0) begin = first;
    if (last >= 0) end = last;
  }
  const selfMicros = new Map();
  for (let i = begin; i < end; i++) {
    const id = profile.samples[i];
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map();
  const files = new Map();
  let idle = 0;
  let busy = 0;
  let gc = 0;
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    if (name === '(garbage collector)') gc += micros;
    const url = shortUrl(callFrame.url, root);
    const key = META.has(name) ? name : `${name} ${url}:${callFrame.lineNumber + 1}`;
    const entry = functions.get(key) ?? { function: name, location: META.has(name) ? '' : `${url}:${callFrame.lineNumber + 1}`, micros: 0 };
    entry.micros += micros;
    functions.set(key, entry);
    const fileKey = META.has(name) ? name : url || '(native / V8 builtins)';
    files.set(fileKey, (files.get(fileKey) ?? 0) + micros);
  }
  const share = (micros) => Math.round((1000 * micros) / Math.max(1, busy)) / 10;
  return {
    file,
    window,
    busySeconds: busy / 1e6,
    idleSeconds: idle / 1e6,
    gcPercent: share(gc),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.micros - a.micros)
      .slice(0, top)
      .map((f) => ({ function: f.function, location: f.location, selfMs: Math.round(f.micros / 1000), selfPercent: share(f.micros) })),
    topFiles: [...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([name, micros]) => ({ file: name, selfMs: Math.round(micros / 1000), selfPercent: share(micros) })),
  };
}
