// The security building blocks checked against outside references: SCRAM-SHA-256 against
// the exchange printed in RFC 7677, the authorizer's decision rules as Kafka documents them,
// certificate subjects in RFC 2253 form, PEM written on one line, JAAS options.

import { constants, generateKeyPairSync, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AclOperation, AclPermission, PatternType, ResourceType, type AclBinding } from '../../src/security/acls.js';
import { AclAuthorizer } from '../../src/security/authorizer.js';
import { InProcessMetadataStore } from '../../src/cluster/metadata-store.js';
import { rfc2253Subject } from '../../src/security/principal.js';
import { credentialFromSaltedPassword, saltPassword, ScramServerExchange } from '../../src/security/scram.js';
import { listenerSecurity, listenerWarnings, parseJaasOptions } from '../../src/security/security-config.js';
import { JwksFile, parseJwks, parseJws, verifyJws } from '../../src/security/jwt.js';
import { JWT_VALIDATOR, UnsecuredJwsValidator } from '../../src/security/oauthbearer.js';
import { loadBrokerConfig } from '../../src/config/broker-config.js';
import { normalisePem } from '../../src/security/tls.js';
import { createLogger } from '../../src/logger.js';

t.test('SCRAM-SHA-256: the example exchange of RFC 7677 section 3', async (t) => {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  const credential = credentialFromSaltedPassword('SCRAM-SHA-256', salt, 4096, saltPassword('SCRAM-SHA-256', 'pencil', salt, 4096));
  const exchange = new ScramServerExchange(
    'SCRAM-SHA-256',
    (user) => (user === 'user' ? credential : undefined),
    () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  );
  t.equal(exchange.first('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'), 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
  t.equal(
    exchange.final('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    'the server signature is the RFC one',
  );
  const again = new ScramServerExchange(
    'SCRAM-SHA-256',
    () => credential,
    () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  );
  again.first('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  t.throws(
    () => again.final('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAAZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    /invalid credentials/,
    'a wrong proof is refused',
  );
  const wrongNonce = new ScramServerExchange(
    'SCRAM-SHA-256',
    () => credential,
    () => 'server',
  );
  wrongNonce.first('n,,n=user,r=client');
  t.throws(() => wrongNonce.final('c=biws,r=clientother,p=AAAA'), /nonce/, 'a nonce that does not end with the server nonce is refused');
  t.throws(() => new ScramServerExchange('SCRAM-SHA-256', () => credential).first('p=tls-unique,,n=user,r=x'), /channel binding/);
  t.throws(() => new ScramServerExchange('SCRAM-SHA-256', () => credential).first('n,,n=us=er,r=x'), /username/, 'a bad saslname escape');
});

t.test('authorizer decisions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-authorizer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = createLogger('silent');
  // Each authorizer as a single node keeps it: a private in-process store mirrored to <dir>/acls.json.
  const authorizerIn = (dataDir: string, options: { superUsers: string[]; allowEveryoneIfNoAclFound: boolean }) =>
    new AclAuthorizer({ store: new InProcessMetadataStore(), mirror: true, dataDir, logger }, options);
  const authorizer = authorizerIn(dir, { superUsers: ['User:root'], allowEveryoneIfNoAclFound: false });
  const binding = (name: string, patternType: number, principal: string, operation: number, permissionType: number, host = '*'): AclBinding => ({
    resourceType: ResourceType.TOPIC,
    resourceName: name,
    patternType,
    principal,
    host,
    operation,
    permissionType,
  });
  await authorizer.create([
    binding('logs-', PatternType.PREFIXED, 'User:*', AclOperation.READ, AclPermission.ALLOW),
    binding('logs-private', PatternType.LITERAL, 'User:eve', AclOperation.ALL, AclPermission.DENY),
    binding('*', PatternType.LITERAL, 'User:ops', AclOperation.ALTER_CONFIGS, AclPermission.ALLOW),
    binding('pinned', PatternType.LITERAL, 'User:amy', AclOperation.WRITE, AclPermission.ALLOW, '10.0.0.1'),
  ]);
  const may = (principal: string, operation: number, name: string, host = '127.0.0.1') => authorizer.authorize(principal, host, operation, ResourceType.TOPIC, name);
  t.ok(may('User:bob', AclOperation.READ, 'logs-app'), 'prefixed allow for User:*');
  t.ok(may('User:bob', AclOperation.DESCRIBE, 'logs-app'), 'READ implies DESCRIBE');
  t.notOk(may('User:bob', AclOperation.WRITE, 'logs-app'), 'READ does not imply WRITE');
  t.notOk(may('User:eve', AclOperation.READ, 'logs-private'), 'DENY ALL beats the prefixed ALLOW');
  t.notOk(may('User:eve', AclOperation.DESCRIBE, 'logs-private'), 'and covers DESCRIBE too');
  t.ok(may('User:ops', AclOperation.DESCRIBE_CONFIGS, 'anything'), 'wildcard ALTER_CONFIGS implies DESCRIBE_CONFIGS');
  t.notOk(may('User:bob', AclOperation.READ, 'unguarded'), 'no ACL for the resource and allow.everyone off: denied');
  t.ok(may('User:root', AclOperation.DELETE, 'logs-private'), 'a super user may do anything');
  t.ok(may('User:amy', AclOperation.WRITE, 'pinned', '10.0.0.1'), 'an ACL bound to a host applies from it');
  t.notOk(may('User:amy', AclOperation.WRITE, 'pinned', '10.0.0.2'), 'and not from another');
  t.ok(authorizer.authorizeAny('User:amy', '10.0.0.1', AclOperation.WRITE, ResourceType.TOPIC), 'amy may write to some topic');
  t.notOk(authorizer.authorizeAny('User:bob', '127.0.0.1', AclOperation.WRITE, ResourceType.TOPIC), 'bob to none');

  const open = authorizerIn(mkdtempSync(join(dir, 'open-')), { superUsers: [], allowEveryoneIfNoAclFound: true });
  t.ok(open.authorize('User:bob', '127.0.0.1', AclOperation.WRITE, ResourceType.TOPIC, 'x'), 'allow.everyone.if.no.acl.found: a resource without ACLs is open');
  await open.create([binding('x', PatternType.LITERAL, 'User:amy', AclOperation.READ, AclPermission.ALLOW)]);
  t.notOk(open.authorize('User:bob', '127.0.0.1', AclOperation.WRITE, ResourceType.TOPIC, 'x'), 'but not once any ACL names it');

  const reloaded = authorizerIn(dir, { superUsers: [], allowEveryoneIfNoAclFound: false });
  t.equal(
    reloaded.describe({
      resourceType: ResourceType.ANY,
      resourceName: null,
      patternType: PatternType.ANY,
      principal: null,
      host: null,
      operation: AclOperation.ANY,
      permissionType: AclPermission.ANY,
    }).length,
    4,
    'the ACLs are read back from acls.json',
  );
  t.same(
    reloaded
      .describe({
        resourceType: ResourceType.TOPIC,
        resourceName: 'logs-private',
        patternType: PatternType.MATCH,
        principal: null,
        host: null,
        operation: AclOperation.ANY,
        permissionType: AclPermission.ANY,
      })
      .map((acl) => acl.resourceName)
      .sort(),
    ['*', 'logs-', 'logs-private'],
    'MATCH: literal, wildcard and prefix',
  );
});

t.test('certificate subjects, one-line PEM, JAAS options', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-subject-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/C=US/O=Example, Inc./OU=eng/CN=alice'],
    { stdio: 'ignore' },
  );
  const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
  t.equal(rfc2253Subject(new X509Certificate(pem)), 'CN=alice,OU=eng,O=Example\\, Inc.,C=US', "most specific first, commas escaped (what Java's X500Principal.getName() prints)");
  const oneLine = pem.replace(/\n/g, ' ');
  t.equal(new X509Certificate(normalisePem(oneLine)).subject, new X509Certificate(pem).subject, 'a PEM written on one line is read');
  const options = parseJaasOptions('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="a \\"quoted\\" pw" user_admin="x" user_bob=bare;');
  t.same(
    [...options],
    [
      ['username', 'admin'],
      ['password', 'a "quoted" pw'],
      ['user_admin', 'x'],
      ['user_bob', 'bare'],
    ],
  );
});

t.test('JWS verification and OAUTHBEARER configuration', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spate-jwt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'k1' };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const sign = (alg: string, header: object = {}) => {
    const input = `${encode({ alg, kid: 'k1', ...header })}.${encode({ sub: 'x' })}`;
    const signature = cryptoSign('sha256', Buffer.from(input), { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    return `${input}.${signature.toString('base64url')}`;
  };
  // A private JWK in the file: only its public half is kept; keys for encryption are skipped.
  const keys = parseJwks(JSON.stringify({ keys: [jwk, { ...jwk, kid: 'enc', use: 'enc' }, { kty: 'oct', k: 'c2VjcmV0' }] }));
  t.equal(keys.length, 1, 'one signing key');
  t.equal(keys[0]!.key.type, 'public');
  t.doesNotThrow(() => verifyJws(parseJws(sign('PS256')), keys), 'PS256 verifies');
  t.throws(() => verifyJws(parseJws(sign('PS256', { kid: 'other' })), keys), /no key in the JWKS/, 'an unknown kid');
  t.throws(() => verifyJws(parseJws(sign('HS256')), keys), /not accepted/, 'HMAC is never accepted');
  const [header, , signature] = sign('PS256').split('.');
  t.throws(() => verifyJws(parseJws(`${header}.${encode({ sub: 'someone-else' })}.${signature}`), keys), /does not verify/, 'a signature over other claims');
  t.throws(() => parseJws('a.b'), /3 dot-separated/);
  t.throws(() => parseJws('a..b'), /'\.\.'/);
  t.throws(() => parseJws(`${encode([1])}.${encode({})}.`), /not a JSON object/);
  t.throws(() => parseJws(`!!.${encode({})}.`), /Base64/);
  t.throws(() => parseJwks('{}'), /"keys"/);

  const errors: string[] = [];
  const missing = new JwksFile(join(dir, 'none.json'), (message) => errors.push(message));
  t.same(missing.current(), [], 'a missing JWKS file: no keys');
  t.match(errors[0], /Cannot read the JWKS file/, 'and an error naming it');

  const base = { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'OAUTHBEARER' };
  const security = (config: Record<string, string>) => {
    const loaded = loadBrokerConfig({ overrides: { ...base, ...config } });
    return listenerSecurity(loaded, loaded.listeners[0]!);
  };
  t.type(security({}).oauthbearer, UnsecuredJwsValidator, 'no handler class: the unsecured validator');
  t.throws(() => security({ 'sasl.server.callback.handler.class': 'com.example.Mine' }), /only OAuthBearerValidatorCallbackHandler/);
  t.throws(() => security({ 'sasl.server.callback.handler.class': JWT_VALIDATOR }), /needs the JWKS/);
  t.throws(() => security({ 'sasl.server.callback.handler.class': JWT_VALIDATOR, 'sasl.oauthbearer.jwks.endpoint.url': 'https://idp/jwks' }), /file: URL/);
  t.throws(
    () => security({ 'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': 'x required unsecuredValidatorAllowableClockSkewMs="-1";' }),
    /non-negative/,
    'a negative clock skew',
  );
  t.match(listenerWarnings(security({})).join('\n'), /unsecured/, 'the unsecured validator is warned about');
});
