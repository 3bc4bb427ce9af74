// Runs Kafka's own command-line tools (from the Maven artifacts that .ci/run resolves into
// test/interop/java/lib) against a broker.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from './kcat.js';

const LIB = fileURLToPath(new URL('../interop/java/lib', import.meta.url));

export const TOOLS = {
  topics: 'org.apache.kafka.tools.TopicCommand',
  consoleProducer: 'org.apache.kafka.tools.ConsoleProducer',
  consoleConsumer: 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  consumerGroups: 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  /** kafka-configs: still in Kafka's core module (kafka_2.13) in 4.x. */
  configs: 'kafka.admin.ConfigCommand',
  deleteRecords: 'org.apache.kafka.tools.DeleteRecordsCommand',
  transactionalCopier: 'org.apache.kafka.tools.TransactionalMessageCopier',
  transactions: 'org.apache.kafka.tools.TransactionsCommand',
  features: 'org.apache.kafka.tools.FeatureCommand',
  reassignPartitions: 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand',
  leaderElection: 'org.apache.kafka.tools.LeaderElectionCommand',
  metadataQuorum: 'org.apache.kafka.tools.MetadataQuorumCommand',
  /** Prints a JSON line per acknowledged (or failed) record: what a failover test needs from the Java client. */
  verifiableProducer: 'org.apache.kafka.tools.VerifiableProducer',
} as const;

export function javaToolsAvailable(): boolean {
  return existsSync(LIB) && readdirSync(LIB).some((file) => file.startsWith('kafka-tools-'));
}

/** The `java` arguments that run a tool's main class on the Kafka classpath (for a tool that streams its output). */
export function kafkaToolArgs(mainClass: string, args: string[]): string[] {
  const classpath = readdirSync(LIB)
    .filter((file) => file.endsWith('.jar'))
    .map((file) => join(LIB, file))
    .join(':');
  return ['-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, mainClass, ...args];
}

export function runKafkaTool(mainClass: string, args: string[], input?: string, timeoutMs = 90_000): Promise<RunResult> {
  return run('java', kafkaToolArgs(mainClass, args), input, timeoutMs);
}

/** Starts a tool and returns the process, for tests that act while it runs (the caller kills it). */
export function spawnKafkaTool(mainClass: string, args: string[]): ChildProcess {
  return spawn('java', kafkaToolArgs(mainClass, args), { stdio: ['ignore', 'pipe', 'pipe'] });
}
