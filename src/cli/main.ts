// The `spate` command line: `spate start [--config FILE] [--host H] [--port N]
// [--http-port N] [--data-dir DIR] [--brokers N | --node-id N --cluster etcd://...]
// [--override key=value ...]`, and the client commands (topics, produce, consume, groups,
// configs, cluster) in commands.ts.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, type LogLevel } from '../logger.js';
import { SpateBroker } from '../server/broker-server.js';
import { SpateCluster } from '../cluster/cluster.js';
import { EtcdMetadataStore, parseEtcdUrl } from '../cluster/etcd-metadata-store.js';
import { keepInternalTopics } from '../cluster/internal-topics.js';
import { runCommand } from './commands.js';

const USAGE = `Usage: spate start [options]
       spate topics list | describe [--topic T] | create --topic T [--partitions N] [--replication-factor N] [--config K=V ...]
                    | alter --topic T [--partitions N] [--config K=V ...] [--delete-config K ...] | delete --topic T
       spate produce --topic T [--key-separator SEP] [--header K=V ...] [--partition P] [--acks N] [--file F] [--rate N]
       spate consume --topic T [--from-beginning] [--partition P --offset N|earliest|latest] [--group G] [--count N] [--timeout-ms MS]
       spate groups list | describe --group G | delete --group G
                    | reset-offsets --group G (--topic T[:P,...] | --all-topics)
                        (--to-earliest | --to-latest | --to-current | --to-offset N | --to-datetime YYYY-MM-DDTHH:mm:SS | --shift-by N)
                        [--dry-run | --execute]
       spate configs get|set (--topic T | --broker N | --broker-defaults | --group G) [--config K=V ...] [--delete-config K ...]
       spate cluster
  client commands take --bootstrap-server HOST:PORT (default 127.0.0.1:9092), --command-config FILE
  (Kafka client properties: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location ...) and --json

Starts a Spate broker (Kafka protocol) in the foreground, or talks to one (or to any Kafka broker).

Options:
  --config FILE       Kafka-style properties file (server.properties)
  --host HOST         host to listen on (default 127.0.0.1)
  --port PORT         port to listen on (default 9092; 0 picks a free one)
  --http-port PORT    HTTP port for /metrics, REST and WebSocket (default 8082, or a free
                      one with --port 0; 0 picks a free one)
  --data-dir DIR      data directory (default ./data; with --brokers: DIR/broker-<id>, default a temporary one)
  --brokers N         run a one-process cluster of N brokers (node ids 0..N-1, ports PORT..PORT+N-1 or 0 each)
  --cluster etcd://HOST:PORT[,HOST:PORT...][/NAME]
                      join a multi-process cluster whose metadata is in etcd (keys under
                      /spate/NAME/, default NAME spate); needs --node-id
  --node-id N         this broker's node.id in the cluster
  --override K=V      set a Kafka property, repeatable (e.g. num.partitions=3)
  --log-level LEVEL   debug, info, warn, error or silent (default info)
  -h, --help          show this help`;

export async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv),
    allowPositionals: true,
    options: {
      // start: the properties file; topics create: topic configs (K=V), as kafka-topics.sh spells it.
      config: { type: 'string', multiple: true },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      brokers: { type: 'string' },
      cluster: { type: 'string' },
      'node-id': { type: 'string' },
      'http-port': { type: 'string' },
      override: { type: 'string', multiple: true },
      'bootstrap-server': { type: 'string' },
      json: { type: 'boolean' },
      topic: { type: 'string' },
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      'key-separator': { type: 'string' },
      header: { type: 'string', multiple: true },
      partition: { type: 'string' },
      offset: { type: 'string' },
      file: { type: 'string' },
      acks: { type: 'string' },
      'from-beginning': { type: 'boolean' },
      group: { type: 'string' },
      count: { type: 'string' },
      'timeout-ms': { type: 'string' },
      broker: { type: 'string' },
      'broker-defaults': { type: 'boolean' },
      'delete-config': { type: 'string', multiple: true },
      'command-config': { type: 'string' },
      rate: { type: 'string' },
      'all-topics': { type: 'boolean' },
      'to-earliest': { type: 'boolean' },
      'to-latest': { type: 'boolean' },
      'to-current': { type: 'boolean' },
      'to-offset': { type: 'string' },
      'to-datetime': { type: 'string' },
      'shift-by': { type: 'string' },
      'dry-run': { type: 'boolean' },
      execute: { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help === true || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined && values.help !== true ? 1 : 0;
  }
  if (['topics', 'produce', 'consume', 'groups', 'configs', 'cluster'].includes(command)) {
    // Output piped into `head` and the like: stop quietly when the reader goes away.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
    return runCommand(command, positionals[1], {
      bootstrap: values['bootstrap-server'] ?? '127.0.0.1:9092',
      json: values.json === true,
      values: values as Record<string, string | boolean | string[] | undefined>,
      out: (line) => process.stdout.write(`${line}\n`),
      input: process.stdin,
      progress: process.stderr,
    });
  }
  if (command !== 'start') {
    console.error(`spate: unknown command '${command}'\n\n${USAGE}`);
    return 1;
  }
  const config: Record<string, string> = {};
  for (const item of values.override ?? []) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw new Error(`--override expects key=value, got '${item}'`);
    config[item.slice(0, equals)] = item.slice(equals + 1);
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got '${values.port}'`);
  }
  let httpPort: number | undefined;
  if (values['http-port'] !== undefined) {
    httpPort = Number(values['http-port']);
    if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535) throw new Error(`--http-port must be 0-65535, got '${values['http-port']}'`);
  }
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) throw new Error(`Unknown --log-level '${logLevel}'`);

  if (values.cluster !== undefined && values.brokers !== undefined) throw new Error('--cluster and --brokers exclude each other');
  const started = performance.now();
  if (values.brokers !== undefined) {
    const count = Number(values.brokers);
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`--brokers must be 1-64, got '${values.brokers}'`);
    const cluster = new SpateCluster({
      brokers: count,
      ...(values.config !== undefined ? { configFile: values.config.at(-1)! } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(port !== undefined ? { basePort: port } : {}),
      ...(httpPort !== undefined ? { httpBasePort: httpPort } : {}),
      ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
      config,
      logLevel,
    });
    await cluster.start();
    const logger = cluster.brokers[0]!.logger;
    logger.info(`Spate cluster of ${count} brokers ready on ${cluster.bootstrap} (started in ${Math.round(performance.now() - started)} ms)`);
    await untilSignal(logger, () => cluster.stop()).done;
    logger.info('Stopped');
    return 0;
  }
  if (values['node-id'] !== undefined) {
    const nodeId = Number(values['node-id']);
    if (!Number.isInteger(nodeId) || nodeId < 0) throw new Error(`--node-id must be a non-negative integer, got '${values['node-id']}'`);
    config['node.id'] = String(nodeId);
  }
  let store: EtcdMetadataStore | undefined;
  const logger = createLogger(logLevel);
  if (values.cluster !== undefined) {
    if (values['node-id'] === undefined && config['node.id'] === undefined) throw new Error('--cluster needs --node-id (every broker of the cluster its own)');
    const { endpoints, cluster } = parseEtcdUrl(values.cluster);
    const sessionTimeoutMs = config['broker.session.timeout.ms'] !== undefined ? Number(config['broker.session.timeout.ms']) : undefined;
    const writeTimeoutMs = config['controller.socket.timeout.ms'] !== undefined ? Number(config['controller.socket.timeout.ms']) : undefined;
    store = await EtcdMetadataStore.connect({
      endpoints,
      cluster,
      ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
      ...(writeTimeoutMs !== undefined && writeTimeoutMs > 0 ? { writeTimeoutMs } : {}),
      ...(values['data-dir'] !== undefined ? { firstProducerId: reservedProducerIds(values['data-dir']) } : {}),
      logger,
    });
    // Every broker answers with the cluster's ID, the one the first broker wrote to etcd.
    config['cluster.id'] = await store.clusterId(config['cluster.id'] ?? randomBytes(16).toString('base64url'));
    logger.info(`Joining cluster ${cluster} (ID ${config['cluster.id']}) through etcd at ${endpoints.join(',')}`);
    await store.retirePreviousRun(Number(config['node.id']));
  }
  const broker = new SpateBroker({
    ...(values.config !== undefined ? { configFile: values.config.at(-1)! } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(httpPort !== undefined ? { httpPort } : {}),
    ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    config,
    logger,
    ...(store !== undefined ? { metadataStore: store } : {}),
    // Ready as soon as Kafka clients are served; the HTTP listener follows a few ms later.
    onListening: (ready) =>
      ready.logger.info(
        `Spate broker ${ready.config.nodeId} ready on ${ready.bootstrap} (data in ${ready.config.dataDir}, started in ${Math.round(performance.now() - started)} ms)`,
      ),
  });
  // Signals are handled from before the ready line: one that arrives while the HTTP side is
  // still coming up waits for it, then shuts down cleanly.
  const starting = broker.start();
  let unwatch: (() => void) | undefined;
  const signalled = untilSignal(broker.logger, async () => {
    await starting.catch(() => undefined);
    unwatch?.();
    await broker.stop();
    await store?.close();
  });
  try {
    await starting;
  } catch (error) {
    signalled.cancel();
    await store?.close();
    throw error;
  }
  unwatch = store !== undefined ? keepInternalTopics(broker) : undefined;
  if (broker.httpUrl !== undefined) broker.logger.info(`HTTP on ${broker.httpUrl} (metrics, REST, WebSocket; up ${Math.round(performance.now() - started)} ms after start)`);

  await signalled.done;
  broker.logger.info('Stopped');
  return 0;
}

/** `--shift-by -2` as Kafka's tools take it (parseArgs alone wants `--shift-by=-2`). */
function joinNegativeValues(argv: string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const next = argv[index + 1];
    if ((arg === '--shift-by' || arg === '--to-offset') && next !== undefined && /^-\d+$/.test(next)) {
      joined.push(`${arg}=${next}`);
      index++;
    } else joined.push(arg);
  }
  return joined;
}

/** Producer IDs this data directory handed out (its producer-id-block), where etcd has none reserved yet. */
function reservedProducerIds(dataDir: string): bigint {
  const path = join(dataDir, 'producer-id-block');
  if (!existsSync(path)) return 0n;
  const text = readFileSync(path, 'utf8').trim();
  return /^\d+$/.test(text) ? BigInt(text) : 0n;
}

/** Runs `stop` on SIGTERM or SIGINT; `done` resolves once it has run, cancel() stops listening. */
function untilSignal(logger: { info(message: string): void; error(message: string): void }, stop: () => Promise<void>): { done: Promise<void>; cancel(): void } {
  let cancel = () => undefined as void;
  const done = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info(`${signal} received, shutting down`);
      cancel();
      stop().then(resolve, (error: unknown) => {
        logger.error(`Shutdown failed: ${(error as Error).message}`);
        resolve();
      });
    };
    cancel = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  return { done, cancel };
}
