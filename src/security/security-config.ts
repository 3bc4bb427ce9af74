// Per-listener security settings resolved from Kafka's configuration: the listener's
// security protocol (listener.security.protocol.map), its TLS material, its SASL mechanisms
// and PLAIN users. Kafka lets every ssl.* and sasl.* key be given per listener as
// `listener.name.<listener>.<key>`, and the JAAS config per mechanism as
// `listener.name.<listener>.<mechanism>.sasl.jaas.config`; the listener's value wins over
// the broker-wide one.

import { type BrokerConfig, type Listener } from '../config/broker-config.js';
import { ConfigError, type ConfigValue } from '../config/definitions.js';
import { isJwtValidatorClass, isUnsecuredValidatorClass, JwksJwtValidator, type OAuthBearerValidator, UnsecuredJwsValidator } from './oauthbearer.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

export const SUPPORTED_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;

export interface ListenerSecurity {
  readonly name: string;
  readonly protocol: SecurityProtocol;
  readonly usesTls: boolean;
  readonly usesSasl: boolean;
  /** Looks a key up for this listener: the listener.name.<l>.<key> override, else the broker value. */
  readonly setting: (key: string) => string | null;
  /** Mechanisms offered in SaslHandshake, in the configured order. */
  readonly mechanisms: readonly string[];
  /** PLAIN users (user_<name>="<password>" options of the PLAIN JAAS config). */
  readonly plainUsers: ReadonlyMap<string, string>;
  /** How OAUTHBEARER tokens are checked, when the listener offers OAUTHBEARER. */
  readonly oauthbearer?: OAuthBearerValidator;
}

/** Kafka's listener name to protocol map; an unmapped name must itself be a protocol. */
export function securityProtocolOf(config: BrokerConfig, listenerName: string): SecurityProtocol {
  const entries = (config.values.get('listener.security.protocol.map') as string[]) ?? [];
  for (const entry of entries) {
    const [name, protocol] = entry.split(':').map((part) => part.trim().toUpperCase());
    if (name === listenerName.toUpperCase()) {
      if (!PROTOCOLS.includes(protocol as SecurityProtocol)) {
        throw new ConfigError('listener.security.protocol.map', entry, `unknown security protocol ${protocol}`);
      }
      return protocol as SecurityProtocol;
    }
  }
  if (PROTOCOLS.includes(listenerName.toUpperCase() as SecurityProtocol)) return listenerName.toUpperCase() as SecurityProtocol;
  throw new ConfigError('listener.security.protocol.map', entries.join(','), `no security protocol for listener ${listenerName}`);
}

function textOf(value: ConfigValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

export function listenerSecurity(config: BrokerConfig, listener: Listener, onError: (message: string) => void = () => undefined): ListenerSecurity {
  const protocol = securityProtocolOf(config, listener.name);
  const prefix = `listener.name.${listener.name.toLowerCase()}.`;
  const setting = (key: string): string | null => config.listenerOverrides.get(prefix + key) ?? textOf(config.values.get(key));
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  const mechanisms = usesSasl
    ? (setting('sasl.enabled.mechanisms') ?? '')
        .split(',')
        .map((mechanism) => mechanism.trim().toUpperCase())
        .filter((mechanism) => mechanism !== '')
    : [];
  const plainJaas = config.listenerOverrides.get(`${prefix}plain.sasl.jaas.config`) ?? setting('sasl.jaas.config');
  const plainUsers = new Map<string, string>();
  if (plainJaas !== null) {
    for (const [key, value] of parseJaasOptions(plainJaas)) {
      if (key.startsWith('user_')) plainUsers.set(key.slice('user_'.length), value);
    }
  }
  const oauthbearer = mechanisms.includes('OAUTHBEARER') ? oauthBearerValidator(config, prefix, setting, onError) : undefined;
  return {
    name: listener.name,
    protocol,
    usesTls: protocol === 'SSL' || protocol === 'SASL_SSL',
    usesSasl,
    setting,
    mechanisms,
    plainUsers,
    ...(oauthbearer !== undefined ? { oauthbearer } : {}),
  };
}

/**
 * The listener's OAUTHBEARER validator, chosen as Kafka chooses its server callback handler:
 * listener.name.<l>.oauthbearer.sasl.server.callback.handler.class naming
 * OAuthBearerValidatorCallbackHandler validates signed JWTs against the JWKS
 * (sasl.oauthbearer.* settings, each also as listener.name.<l>.oauthbearer.<key>); unset,
 * Kafka's unsecured validator applies, with the unsecuredValidator* options of the
 * OAUTHBEARER JAAS config.
 */
function oauthBearerValidator(config: BrokerConfig, prefix: string, setting: (key: string) => string | null, onError: (message: string) => void): OAuthBearerValidator {
  const mechanismSetting = (key: string) => config.listenerOverrides.get(`${prefix}oauthbearer.${key}`) ?? setting(key);
  const handler = mechanismSetting('sasl.server.callback.handler.class')?.trim() ?? '';
  if (handler === '' || isUnsecuredValidatorClass(handler)) {
    return new UnsecuredJwsValidator(parseJaasOptions(mechanismSetting('sasl.jaas.config') ?? ''));
  }
  if (!isJwtValidatorClass(handler)) {
    throw new ConfigError(
      `${prefix}oauthbearer.sasl.server.callback.handler.class`,
      handler,
      'only OAuthBearerValidatorCallbackHandler (JWKS) or the unsecured validator can be used',
    );
  }
  const jwksUrl = mechanismSetting('sasl.oauthbearer.jwks.endpoint.url');
  if (jwksUrl === null || jwksUrl.trim() === '') {
    throw new ConfigError('sasl.oauthbearer.jwks.endpoint.url', null, 'OAuthBearerValidatorCallbackHandler needs the JWKS (a file: URL)');
  }
  const list = (key: string) =>
    (mechanismSetting(key) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const skew = Number(mechanismSetting('sasl.oauthbearer.clock.skew.seconds') ?? '30');
  if (!Number.isInteger(skew) || skew < 0) throw new ConfigError('sasl.oauthbearer.clock.skew.seconds', String(skew), 'must be a non-negative integer');
  return new JwksJwtValidator({
    jwksUrl: jwksUrl.trim(),
    expectedAudience: list('sasl.oauthbearer.expected.audience'),
    expectedIssuer: mechanismSetting('sasl.oauthbearer.expected.issuer')?.trim() || null,
    subClaim: mechanismSetting('sasl.oauthbearer.sub.claim.name')?.trim() || 'sub',
    scopeClaim: mechanismSetting('sasl.oauthbearer.scope.claim.name')?.trim() || 'scope',
    clockSkewSeconds: skew,
    onError,
  });
}

/** Problems to log at startup: mechanisms offered that Spate cannot serve, PLAIN without users. */
export function listenerWarnings(security: ListenerSecurity): string[] {
  const warnings: string[] = [];
  for (const mechanism of security.mechanisms) {
    if (!(SUPPORTED_MECHANISMS as readonly string[]).includes(mechanism)) {
      warnings.push(`Listener ${security.name}: SASL mechanism ${mechanism} (sasl.enabled.mechanisms) is not supported and will not be offered`);
    }
  }
  if (security.oauthbearer !== undefined && !(security.oauthbearer instanceof JwksJwtValidator)) {
    warnings.push(
      `Listener ${security.name}: OAUTHBEARER accepts unsecured (unsigned) tokens, as Kafka's default validator does; for development only (set OAuthBearerValidatorCallbackHandler and a JWKS for signed tokens)`,
    );
  }
  if (security.mechanisms.includes('PLAIN') && security.plainUsers.size === 0) {
    warnings.push(`Listener ${security.name}: PLAIN is enabled but its JAAS config names no user_<name> entries; every PLAIN login will fail`);
  }
  return warnings;
}

/**
 * The options of a JAAS line such as
 * `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" user_alice="pw";`
 * (values quoted or bare, the trailing semicolon optional).
 */
export function parseJaasOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  const pattern = /([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^\s;"]+))/g;
  for (const match of text.matchAll(pattern)) {
    const value = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!;
    options.set(match[1]!, value);
  }
  return options;
}
