// The README's compatibility table must match what the broker advertises.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { handlers } from '../../src/broker/index.js';

t.test('README compatibility table matches the handler table', async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('## Compatibility'), readme.indexOf('## Configuration'));
  const rows = [...section.matchAll(/^\| (\d+) \| (\w+) \| (\d+)(?:-(\d+))? \|/gm)].map((m) => ({
    apiKey: Number(m[1]),
    minVersion: Number(m[3]),
    maxVersion: Number(m[4] ?? m[3]),
  }));
  const served = [...handlers].map((h) => ({ apiKey: h.apiKey, minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion })).sort((a, b) => a.apiKey - b.apiKey);
  t.same(rows, served);
});
