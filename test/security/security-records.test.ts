// Users, ACLs and quotas as metadata-store records (src/security/security-records.ts,
// src/cluster/etcd-security-records.ts), without brokers:
// - two EtcdMetadataStore copies over one etcd: a write is in the writer's copy when it
//   settles and reaches the other copy through its watch; large writes span transactions;
//   a watch cancelled by compaction reads its area again;
// - the views over an in-process store: seeded from the data directory's files in their
//   old format, mirrored back on each change, a damaged SCRAM or quota file logged and
//   skipped, a damaged acls.json refusing to start, a file that cannot be written failing the change.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { InProcessMetadataStore, type SecurityArea } from '../../src/cluster/metadata-store.js';
import { createLogger } from '../../src/logger.js';
import { AclAuthorizer } from '../../src/security/authorizer.js';
import { ClientQuotaStore } from '../../src/security/client-quotas.js';
import { credentialFromPassword } from '../../src/security/scram.js';
import { ScramCredentialStore } from '../../src/security/scram-credentials.js';
import { etcdMissing, startEtcd } from '../helpers/etcd.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !check()) await new Promise((resolve) => setTimeout(resolve, 25));
  return check();
}

t.test('records in etcd, seen by every copy', { skip: etcdMissing() }, async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const endpoints = [`http://${etcd.hostPort}`];
  const a = await EtcdMetadataStore.connect({ endpoints, cluster: 'records', logger: quiet });
  const b = await EtcdMetadataStore.connect({ endpoints, cluster: 'records', logger: quiet });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const heardByB: SecurityArea[] = [];
  b.watchSecurity((area) => heardByB.push(area));

  await a.writeSecurityRecords('scram', [{ key: 'alice/SCRAM-SHA-256', value: '{"x":1}' }]);
  t.same([...a.securityRecords('scram')], [['alice/SCRAM-SHA-256', '{"x":1}']], "the writer's copy holds the record when the write settles");
  t.ok(await eventually(() => b.securityRecords('scram').size === 1, 5000), 'the other copy gets it through its watch');
  t.ok(heardByB.includes('scram'), 'and tells its listeners');

  const many = Array.from({ length: 250 }, (_, i) => ({ key: `binding-${i}`, value: `{"i":${i}}` }));
  await a.writeSecurityRecords('acls', many);
  t.equal(a.securityRecords('acls').size, 250, '250 records, more than one transaction holds, all written');
  t.ok(await eventually(() => b.securityRecords('acls').size === 250, 5000));
  await b.writeSecurityRecords('acls', [
    { key: 'binding-0', value: null },
    { key: 'missing', value: null },
  ]);
  t.equal(b.securityRecords('acls').size, 249, 'a deletion (and one of a key that never was) through the other copy');
  t.ok(await eventually(() => a.securityRecords('acls').size === 249, 5000));
  await a.writeSecurityRecords('quotas', []);

  // A copy cut off while etcd compacted: its watch is cancelled and the area read again.
  const internals = b as unknown as { securityCopy: { areas: Map<string, { watcher: { cancel(): Promise<void> } | undefined }>; startWatch(area: string): Promise<void> } };
  await internals.securityCopy.areas.get('quotas')!.watcher!.cancel();
  await a.writeSecurityRecords('quotas', [{ key: 'k', value: '{"v":1}' }]);
  const { Etcd3 } = await import('etcd3');
  const admin = new Etcd3({ hosts: endpoints });
  const revision = (await admin.get('any').exec()).header.revision;
  await admin.kv.compact({ revision, physical: true });
  admin.close();
  t.equal(b.securityRecords('quotas').size, 0, 'b heard nothing meanwhile');
  await internals.securityCopy.startWatch('quotas').catch(() => undefined);
  t.ok(await eventually(() => b.securityRecords('quotas').size === 1, 5000), 'b read the area again after etcd cancelled its watch');
});

t.test('views over an in-process store, mirrored to the data directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-records-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const errors: string[] = [];
  const logger = { ...createLogger('silent'), error: (message: string) => errors.push(message) };
  const context = (dataDir: string, store = new InProcessMetadataStore()) => ({ store, mirror: true, dataDir, logger });

  // Files as Spate wrote them before the metadata store held these: they seed the store.
  const old = credentialFromPassword('SCRAM-SHA-512', 'pw');
  writeFileSync(
    join(dir, 'scram-credentials.json'),
    JSON.stringify({
      version: 1,
      users: {
        ann: {
          'SCRAM-SHA-512': {
            salt: old.salt.toString('base64'),
            iterations: old.iterations,
            storedKey: old.storedKey.toString('base64'),
            serverKey: old.serverKey.toString('base64'),
          },
        },
      },
    }),
  );
  writeFileSync(
    join(dir, 'client-quotas.json'),
    JSON.stringify({ version: 1, entries: [{ entity: [{ entityType: 'user', entityName: 'ann' }], values: { producer_byte_rate: 1000 } }] }),
  );
  const store = new InProcessMetadataStore();
  const scram = new ScramCredentialStore(context(dir, store));
  const quotas = new ClientQuotaStore(context(dir, store));
  t.ok(scram.get('ann', 'SCRAM-SHA-512')?.storedKey.equals(old.storedKey), 'scram-credentials.json in its old format seeds the store');
  t.equal(store.securityRecords('scram').size, 1);
  t.same(
    quotas.entries().map((entry) => [entry.entity, Object.fromEntries(entry.values)]),
    [[[{ entityType: 'user', entityName: 'ann' }], { producer_byte_rate: 1000 }]],
    'so does client-quotas.json',
  );

  await scram.apply([{ user: 'bo/b', mechanism: 'SCRAM-SHA-256', credential: credentialFromPassword('SCRAM-SHA-256', 'x') }]);
  await quotas.apply([{ entity: [{ entityType: 'client-id', entityName: null }], ops: [{ key: 'request_percentage', value: 50, remove: false }] }]);
  const mirrored = JSON.parse(readFileSync(join(dir, 'scram-credentials.json'), 'utf8')) as { users: Record<string, unknown> };
  t.same(Object.keys(mirrored.users).sort(), ['ann', 'bo/b'], 'a change is mirrored to the file before it settles (a name with a slash too)');
  t.equal(quotas.size, 2);

  const again = new InProcessMetadataStore();
  t.equal(new ScramCredentialStore(context(dir, again)).entries().length, 2, 'a restart reads the mirrored file');
  t.equal(new ClientQuotaStore(context(dir, again)).size, 2);

  // A second broker of a one-process cluster: the store already has records, its own (empty) directory gets the mirror.
  const other = mkdtempSync(join(dir, 'other-'));
  const second = new ScramCredentialStore(context(other, store));
  t.equal(second.entries().length, 2, 'a broker joining a store with records takes them');
  t.ok(readFileSync(join(other, 'scram-credentials.json'), 'utf8').includes('bo/b'), 'and mirrors them to its own directory');
  await scram.apply([{ user: 'bo/b', mechanism: 'SCRAM-SHA-256', credential: null }]);
  t.equal(second.entries().length, 1, "a change through one view reaches the other broker's view");
  second.close();
  await scram.apply([{ user: 'cy', mechanism: 'SCRAM-SHA-256', credential: credentialFromPassword('SCRAM-SHA-256', 'x') }]);
  t.equal(second.entries().length, 1, 'a closed view no longer follows the store');

  const damaged = mkdtempSync(join(dir, 'damaged-'));
  writeFileSync(join(damaged, 'scram-credentials.json'), '{ not json');
  writeFileSync(join(damaged, 'client-quotas.json'), '[');
  writeFileSync(join(damaged, 'acls.json'), '{"acls": [');
  t.equal(new ScramCredentialStore(context(damaged)).entries().length, 0, 'a damaged scram-credentials.json: no SCRAM user, the broker starts');
  t.equal(new ClientQuotaStore(context(damaged)).size, 0, 'a damaged client-quotas.json: no quota');
  t.ok(errors.some((message) => message.includes('scram-credentials.json')) && errors.some((message) => message.includes('client-quotas.json')), 'both logged, naming the file');
  t.throws(() => new AclAuthorizer(context(damaged), { superUsers: [], allowEveryoneIfNoAclFound: false }), /acls\.json/, 'a damaged acls.json refuses to start');

  const bad = context(dir, new InProcessMetadataStore());
  bad.store.writeSecurityRecords('scram', [{ key: 'x', value: 'not json' }]);
  t.equal(new ScramCredentialStore(bad).entries().length, 0, 'a record that is not a credential is skipped');

  // A mirror that cannot be written (its path is a directory: fails even for root).
  const unwritable = mkdtempSync(join(dir, 'unwritable-'));
  mkdirSync(join(unwritable, 'client-quotas.json'));
  const blocked = new ClientQuotaStore(context(unwritable));
  await t.rejects(
    blocked.apply([{ entity: [{ entityType: 'user', entityName: null }], ops: [{ key: 'consumer_byte_rate', value: 1, remove: false }] }]),
    'a quota whose mirror file cannot be written fails the change',
  );
  t.ok(
    errors.some((message) => message.includes(`Cannot write ${join(unwritable, 'client-quotas.json')}`)),
    'and the file is named in the log',
  );
});
