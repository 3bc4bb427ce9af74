// Compiles and runs test/security/java/SecurityClient.java (Kafka 4.3's Java client:
// producers with any SASL login, an admin that does not retry on quota errors).

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Test } from 'tap';
import { run } from '../helpers/kcat.js';

const LIB = fileURLToPath(new URL('../interop/java/lib', import.meta.url));
const SOURCE = fileURLToPath(new URL('./java/SecurityClient.java', import.meta.url));

const classpath = () =>
  readdirSync(LIB)
    .filter((file) => file.endsWith('.jar'))
    .map((file) => join(LIB, file))
    .join(':');

export interface JavaClient {
  /** Runs SecurityClient with these arguments (and JVM system properties); the JSON lines it printed. */
  run(args: string[], systemProperties?: Record<string, string>, timeoutMs?: number): Promise<Array<Record<string, unknown>>>;
  /** Writes a client properties file in the client's scratch directory. */
  properties(name: string, values: Record<string, string>): string;
  readonly dir: string;
}

export async function compileJavaClient(t: Test): Promise<JavaClient> {
  const dir = mkdtempSync(join(tmpdir(), 'spate-java-client-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const classes = join(dir, 'classes');
  const compiled = await run('javac', ['-cp', classpath(), '-d', classes, SOURCE], undefined, 120_000);
  if (compiled.code !== 0) throw new Error(`javac failed: ${compiled.stderr}`);
  return {
    dir,
    async run(args, systemProperties = {}, timeoutMs = 120_000) {
      const result = await run(
        'java',
        [
          '-Xms32m',
          '-Xmx192m',
          '-XX:+UseSerialGC',
          '-XX:TieredStopAtLevel=1',
          '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
          ...Object.entries(systemProperties).map(([key, value]) => `-D${key}=${value}`),
          '-cp',
          `${classes}:${classpath()}`,
          'SecurityClient',
          ...args,
        ],
        undefined,
        timeoutMs,
      );
      if (result.code !== 0) throw new Error(`SecurityClient ${args[0]} exited ${result.code}: ${result.stderr.slice(-3000)}`);
      return result.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    properties(name, values) {
      const path = join(dir, `${name}.properties`);
      writeFileSync(
        path,
        Object.entries(values)
          .map(([key, value]) => `${key}=${value}`)
          .join('\n') + '\n',
      );
      return path;
    },
  };
}
