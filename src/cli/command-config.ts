// `--command-config FILE`: a Kafka client properties file, as Kafka's tools read it, turned
// into how the CLI connects: TLS (security.protocol SSL / SASL_SSL, PEM trust and key stores)
// and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 from sasl.jaas.config, or librdkafka's
// sasl.username / sasl.password). Keys the CLI has no use for are ignored, as Kafka's tools
// ignore configs of other components.

import { readFileSync } from 'node:fs';
import { type ConnectionOptions } from 'node:tls';
import { parseJaasOptions } from '../security/security-config.js';

export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface SaslCredentials {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface ClientSecurity {
  /** TLS options for tls.connect (SSL, SASL_SSL), or undefined for plain TCP. */
  readonly tls?: ConnectionOptions;
  readonly sasl?: SaslCredentials;
}

/** java.util.Properties' format: `key=value` or `key: value`, # and ! comments, \ line continuations. */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && index + 1 < lines.length) line = line.slice(0, -1) + lines[++index]!.trimStart();
    const match = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match === null) {
      properties.set(line.replace(/\\(.)/g, '$1'), '');
      continue;
    }
    properties.set(match[1]!.replace(/\\(.)/g, '$1'), match[2]!.replace(/\\(.)/g, '$1'));
  }
  return properties;
}

function pemOf(properties: Map<string, string>, store: 'truststore' | 'keystore', inlineKey: string): string | undefined {
  const inline = properties.get(inlineKey);
  if (inline !== undefined && inline !== '') return inline;
  const location = properties.get(`ssl.${store}.location`);
  if (location === undefined || location === '') return undefined;
  const type = (properties.get(`ssl.${store}.type`) ?? 'JKS').toUpperCase();
  const text = readFileSync(location, 'utf8');
  if (type !== 'PEM' && !text.includes('-----BEGIN')) {
    throw new Error(`ssl.${store}.location ${location}: only PEM stores are read (set ssl.${store}.type=PEM); ${type} is not supported`);
  }
  return text;
}

/** The client security a properties file asks for. */
export function clientSecurity(properties: Map<string, string>): ClientSecurity {
  const protocol = (properties.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol))
    throw new Error(`security.protocol ${protocol} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`);
  let tls: ConnectionOptions | undefined;
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const ca = pemOf(properties, 'truststore', 'ssl.truststore.certificates');
    const keystore = pemOf(properties, 'keystore', 'ssl.keystore.certificate.chain');
    const key = properties.get('ssl.keystore.key') || (keystore?.includes('PRIVATE KEY') ? keystore : undefined);
    const passphrase = properties.get('ssl.key.password') || undefined;
    // Kafka's default "https" checks the broker's host name against its certificate; "" turns that off.
    const identification = properties.get('ssl.endpoint.identification.algorithm') ?? 'https';
    tls = {
      ...(ca !== undefined ? { ca } : {}),
      ...(keystore !== undefined ? { cert: keystore } : {}),
      ...(key !== undefined ? { key } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(identification === '' ? { checkServerIdentity: () => undefined } : {}),
    };
  }
  let sasl: SaslCredentials | undefined;
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (properties.get('sasl.mechanism') ?? 'GSSAPI').toUpperCase();
    if (mechanism !== 'PLAIN' && mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') {
      throw new Error(`sasl.mechanism ${mechanism} is not supported by the spate CLI (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)`);
    }
    const jaas = parseJaasOptions(properties.get('sasl.jaas.config') ?? '');
    const username = jaas.get('username') ?? properties.get('sasl.username');
    const password = jaas.get('password') ?? properties.get('sasl.password');
    if (username === undefined || password === undefined) {
      throw new Error(`SASL ${mechanism} needs a username and password: sasl.jaas.config with username="..." password="...", or sasl.username and sasl.password`);
    }
    sasl = { mechanism, username, password };
  }
  return { ...(tls !== undefined ? { tls } : {}), ...(sasl !== undefined ? { sasl } : {}) };
}

export function readCommandConfig(file: string): ClientSecurity {
  return clientSecurity(parseProperties(readFileSync(file, 'utf8')));
}
