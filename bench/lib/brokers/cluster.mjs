// Three-broker clusters for the replicated workloads, each broker its own process on the
// broker core (see cpu-pin.mjs), as the single brokers are:
//
// - Spate: an etcd (Debian's etcd-server) for the metadata and three `spate start --node-id
//   N --cluster etcd://...` processes: the multi-process cluster users run.
// - Kafka 4.3.1: one KRaft controller (process.roles=controller) and three brokers
//   (process.roles=broker), so that killing a broker, as the failover workload does, kills
//   no controller, as killing a Spate broker leaves etcd running.
//
// Both keep their defaults but the settings the caller passes (the failover workload uses
// the same broker.session.timeout.ms on both).

import { spawn, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerProcess } from './child.mjs';
import { ensureKafkaJars } from './kafka.mjs';
import { onBrokerCore } from '../cpu-pin.mjs';
import { freePort } from '../ports.mjs';

const NODE_IDS = [1, 2, 3];

// kafka-server-start.sh's options, as for the single Kafka broker (kafka.mjs).
const KAFKA_JVM = [
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

/** One etcd member on free loopback ports, on the broker core; resolves once it serves clients. */
async function startEtcd(workDir) {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const logFile = join(workDir, 'etcd.log');
  const log = openSync(logFile, 'a');
  const args = ['--name', 'bench', '--data-dir', join(workDir, 'etcd'), '--listen-client-urls', client, '--advertise-client-urls', client];
  args.push('--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `bench=${peer}`);
  const [command, pinned] = onBrokerCore('etcd', args);
  const child = spawn(command, pinned, { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = performance.now() + 30_000;
  while (!readFileSync(logFile, 'utf8').includes('ready to serve client requests')) {
    if (child.exitCode !== null || performance.now() > deadline) throw new Error(`etcd did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    await sleep(50);
  }
  return {
    pid: child.pid,
    hostPort: `127.0.0.1:${clientPort}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

class Cluster {
  constructor(name, brokers, extraPids, stopExtra) {
    this.name = name;
    /** node id -> BrokerProcess */
    this.brokers = brokers;
    this.extraPids = extraPids;
    this.stopExtra = stopExtra;
  }

  get bootstrap() {
    return [...this.brokers.values()].map((broker) => broker.bootstrap).join(',');
  }

  /** Every process of the cluster (brokers, and etcd or the controller), for CPU and memory. */
  get pids() {
    return [...[...this.brokers.values()].map((broker) => broker.pid), ...this.extraPids];
  }

  /** A pid for code that watches one process: the first broker. */
  get pid() {
    return this.brokers.get(NODE_IDS[0]).pid;
  }

  get child() {
    return this.brokers.get(NODE_IDS[0]).child;
  }

  logTail(lines) {
    return [...this.brokers.values()].map((broker) => broker.logTail(lines)).join('\n');
  }

  bootstrapOf(nodeId) {
    return this.brokers.get(nodeId).bootstrap;
  }

  async start() {
    const started = performance.now();
    await Promise.all([...this.brokers.values()].map((broker) => broker.start()));
    return performance.now() - started;
  }

  /** kill -9 of one broker; resolves once it is gone. */
  async kill(nodeId) {
    const broker = this.brokers.get(nodeId);
    broker.child.kill('SIGKILL');
    await broker.exited;
  }

  /** Starts a killed broker again on its data. */
  async restart(nodeId) {
    await this.brokers.get(nodeId).start();
  }

  async stop() {
    await Promise.all([...this.brokers.values()].map((broker) => broker.stop()));
    await this.stopExtra();
  }
}

/** Spate: etcd and three `spate start --cluster` processes. */
export async function spateCluster({ root, workDir, overrides = {} }) {
  const etcd = await startEtcd(workDir);
  const brokers = new Map();
  for (const nodeId of NODE_IDS) {
    const port = await freePort();
    const dataDir = join(workDir, `spate-${nodeId}`);
    const args = ['--initial-heap-size=64', join(root, 'bin', 'spate.js'), 'start', '--node-id', String(nodeId), '--cluster', `etcd://${etcd.hostPort}/bench`];
    args.push('--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--http-port', '0');
    for (const [key, value] of Object.entries({ 'group.initial.rebalance.delay.ms': 0, ...overrides })) args.push('--override', `${key}=${value}`);
    brokers.set(
      nodeId,
      new BrokerProcess({ name: 'spate', command: process.execPath, args, cwd: root, logFile: join(workDir, `spate-${nodeId}.log`), port, readyTimeoutMs: 60_000 }),
    );
  }
  return new Cluster('spate', brokers, [etcd.pid], () => etcd.stop());
}

/** Kafka: one KRaft controller and three brokers, each storage formatted with one cluster ID. */
export async function kafkaCluster({ root, workDir, overrides = {} }) {
  const lib = ensureKafkaJars(root);
  const classpath = `${lib}/*`;
  const clusterId = randomBytes(16).toString('base64url');
  const controllerPort = await freePort();
  const voters = `100@127.0.0.1:${controllerPort}`;
  const common = ['controller.listener.names=CONTROLLER', `controller.quorum.voters=${voters}`, 'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'];
  const write = (name, lines) => {
    const dir = join(workDir, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'server.properties');
    writeFileSync(file, [...lines, `log.dirs=${join(dir, 'logs')}`, ''].join('\n'));
    execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', file], { stdio: 'ignore' });
    return file;
  };
  const settings = (keys) =>
    Object.entries(overrides)
      .filter(([key]) => keys(key))
      .map(([key, value]) => `${key}=${value}`);
  // broker.session.timeout.ms is the controller's; broker.heartbeat.interval.ms the brokers'.
  const controllerFile = write('controller', [
    'process.roles=controller',
    'node.id=100',
    `listeners=CONTROLLER://127.0.0.1:${controllerPort}`,
    ...common,
    ...settings((key) => key === 'broker.session.timeout.ms'),
  ]);
  const process_ = (name, file, port) =>
    new BrokerProcess({
      name: 'kafka',
      command: 'java',
      args: [...KAFKA_JVM, '-Dorg.slf4j.simpleLogger.defaultLogLevel=info', '-Dorg.slf4j.simpleLogger.logFile=System.out', '-cp', classpath, 'kafka.Kafka', file],
      cwd: workDir,
      logFile: join(workDir, `${name}.log`),
      port,
      readyTimeoutMs: 120_000,
    });
  const controller = process_('controller', controllerFile, controllerPort);
  const brokers = new Map();
  for (const nodeId of NODE_IDS) {
    const port = await freePort();
    const file = write(`kafka-${nodeId}`, [
      'process.roles=broker',
      `node.id=${nodeId}`,
      `listeners=PLAINTEXT://127.0.0.1:${port}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'inter.broker.listener.name=PLAINTEXT',
      ...common,
      'group.initial.rebalance.delay.ms=0',
      ...settings((key) => key !== 'broker.session.timeout.ms'),
    ]);
    brokers.set(nodeId, process_(`kafka-${nodeId}`, file, port));
  }
  // The controller answers ApiVersions on its own listener once it runs: it starts first.
  await controller.start();
  return new Cluster('kafka', brokers, [controller.pid], () => controller.stop());
}
