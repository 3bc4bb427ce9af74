// Apache Kafka 4.3.1 as the bench runs it: the broker's jars resolved from Maven Central by
// bench/kafka/pom.xml on first use, a single KRaft node (broker and controller in one
// process, the controller on its own loopback port), storage formatted with
// kafka.tools.StorageTool, and the JVM options kafka-server-start.sh uses by default.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BrokerProcess } from './child.mjs';

export const KAFKA_VERSION = '4.3.1';

// kafka-server-start.sh's KAFKA_HEAP_OPTS and kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS.
const JVM_OPTIONS = [
  '-Xmx1G',
  '-Xms1G',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

/** Resolves the broker's jars into bench/kafka/lib if they are not there yet. */
export function ensureKafkaJars(root, note = () => {}) {
  const lib = join(root, 'bench', 'kafka', 'lib');
  if (existsSync(lib) && readdirSync(lib).includes(`kafka_2.13-${KAFKA_VERSION}.jar`)) return lib;
  note(`resolving org.apache.kafka:kafka_2.13:${KAFKA_VERSION} from Maven Central (first use)`);
  execFileSync('mvn', ['-q', '-B', '-f', join(root, 'bench', 'kafka', 'pom.xml'), 'dependency:copy-dependencies'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return lib;
}

export function kafkaBroker({ root, workDir, port, controllerPort }) {
  const lib = ensureKafkaJars(root);
  const logDir = join(workDir, 'kraft-logs');
  mkdirSync(logDir, { recursive: true });
  const properties = join(workDir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${logDir}`,
      // One node: the internal topics cannot have three replicas.
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      // A consumer group starts at once, as it does on Spate (config/server.properties
      // shipped with Kafka sets this too, for development).
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  // Kafka prints a cluster ID as 16 random bytes in unpadded base64url (Uuid.toString).
  const clusterId = randomBytes(16).toString('base64url');
  const classpath = `${lib}/*`;
  execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties], { stdio: 'ignore' });
  return new BrokerProcess({
    name: 'kafka',
    command: 'java',
    args: [...JVM_OPTIONS, '-Dorg.slf4j.simpleLogger.defaultLogLevel=info', '-Dorg.slf4j.simpleLogger.logFile=System.out', '-cp', classpath, 'kafka.Kafka', properties],
    cwd: workDir,
    logFile: join(workDir, 'broker.log'),
    port,
    readyTimeoutMs: 120_000,
  });
}
