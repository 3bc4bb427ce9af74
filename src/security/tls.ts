// TLS material for an SSL or SASL_SSL listener, read the way Kafka's
// DefaultSslEngineFactory reads it: a PEM key store (a file with the private key and the
// certificate chain, or both given in the config as ssl.keystore.key and
// ssl.keystore.certificate.chain), or a PKCS12 file; a PEM trust store for the client
// certificates. ssl.client.auth=required|requested asks for a client certificate; the
// principal is then taken from its subject (principal.ts).

import { readFileSync } from 'node:fs';
import { type TlsOptions } from 'node:tls';
import { ConfigError } from '../config/definitions.js';
import { type ListenerSecurity } from './security-config.js';

/** Kafka allows a PEM given in one line of a properties file; put the line breaks back. */
export function normalisePem(text: string): string {
  return text.replace(/(-----BEGIN [^-]+-----)([\s\S]*?)(-----END [^-]+-----)/g, (_, begin: string, body: string, end: string) => {
    const base64 = body.replace(/\s+/g, '');
    const lines = base64.match(/.{1,64}/g) ?? [];
    return `${begin}\n${lines.join('\n')}\n${end}`;
  });
}

function readText(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(key, path, `cannot read: ${(error as Error).message}`);
  }
}

const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

export function tlsServerOptions(security: ListenerSecurity): TlsOptions {
  const setting = security.setting;
  const prefixed = (key: string) => `listener.name.${security.name.toLowerCase()}.${key} / ${key}`;
  const options: TlsOptions = {};

  const keystoreType = (setting('ssl.keystore.type') ?? 'JKS').toUpperCase();
  const location = setting('ssl.keystore.location');
  const inlineKey = setting('ssl.keystore.key');
  const inlineChain = setting('ssl.keystore.certificate.chain');
  const keyPassword = setting('ssl.key.password') ?? undefined;
  if (inlineKey !== null || inlineChain !== null) {
    if (inlineKey === null || inlineChain === null) {
      throw new ConfigError(prefixed('ssl.keystore.key'), null, 'ssl.keystore.key and ssl.keystore.certificate.chain go together');
    }
    options.key = normalisePem(inlineKey);
    options.cert = normalisePem(inlineChain);
    if (keyPassword !== undefined) options.passphrase = keyPassword;
  } else if (location !== null) {
    if (keystoreType === 'PKCS12') {
      let pfx: Buffer;
      try {
        pfx = readFileSync(location);
      } catch (error) {
        throw new ConfigError(prefixed('ssl.keystore.location'), location, `cannot read: ${(error as Error).message}`);
      }
      options.pfx = pfx;
      const password = setting('ssl.keystore.password') ?? undefined;
      if (password !== undefined) options.passphrase = password;
    } else {
      const text = readText(prefixed('ssl.keystore.location'), location);
      // A PEM file read as the default JKS type still works: the content says what it is.
      if (keystoreType === 'JKS' && !text.includes('-----BEGIN')) {
        throw new ConfigError(prefixed('ssl.keystore.type'), 'JKS', 'JKS key stores cannot be read; use PEM or PKCS12');
      }
      const pem = normalisePem(text);
      options.key = pem;
      options.cert = pem;
      if (keyPassword !== undefined) options.passphrase = keyPassword;
    }
  } else {
    throw new ConfigError(prefixed('ssl.keystore.location'), null, `listener ${security.name} (${security.protocol}) needs a key store`);
  }

  const trustLocation = setting('ssl.truststore.location');
  const trustInline = setting('ssl.truststore.certificates');
  if (trustInline !== null) options.ca = normalisePem(trustInline);
  else if (trustLocation !== null) {
    const text = readText(prefixed('ssl.truststore.location'), trustLocation);
    if (!text.includes('-----BEGIN')) {
      throw new ConfigError(prefixed('ssl.truststore.type'), setting('ssl.truststore.type'), 'only PEM trust stores can be read');
    }
    options.ca = normalisePem(text);
  }

  const clientAuth = (setting('ssl.client.auth') ?? 'none').toLowerCase();
  options.requestCert = clientAuth === 'required' || clientAuth === 'requested';
  // 'requested': a client without a certificate is accepted (as ANONYMOUS); 'required' refuses it.
  options.rejectUnauthorized = clientAuth === 'required';

  const enabled = (setting('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3').split(',').map((item) => item.trim());
  const served = TLS_VERSIONS.filter((version) => enabled.includes(version));
  if (served.length === 0) throw new ConfigError(prefixed('ssl.enabled.protocols'), enabled.join(','), 'no TLS version left to serve');
  options.minVersion = served[0]!;
  options.maxVersion = served[served.length - 1]!;
  const ciphers = setting('ssl.cipher.suites');
  if (ciphers !== null && ciphers !== '')
    options.ciphers = ciphers
      .split(',')
      .map((item) => item.trim())
      .join(':');
  return options;
}
