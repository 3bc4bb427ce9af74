// The `spate` command line: `spate start [--config FILE] [--host H] [--port N]
// [--data-dir DIR] [--brokers N] [--override key=value ...]`.

import { parseArgs } from 'node:util';
import { type LogLevel } from '../logger.js';
import { SpateBroker } from '../server/broker-server.js';
import { SpateCluster } from '../cluster/cluster.js';

const USAGE = `Usage: spate start [options]

Starts a Spate broker (Kafka protocol) in the foreground.

Options:
  --config FILE       Kafka-style properties file (server.properties)
  --host HOST         host to listen on (default 127.0.0.1)
  --port PORT         port to listen on (default 9092; 0 picks a free one)
  --data-dir DIR      data directory (default ./data; with --brokers: DIR/broker-<id>, default a temporary one)
  --brokers N         run a one-process cluster of N brokers (node ids 0..N-1, ports PORT..PORT+N-1 or 0 each)
  --override K=V      set a Kafka property, repeatable (e.g. num.partitions=3)
  --log-level LEVEL   debug, info, warn, error or silent (default info)
  -h, --help          show this help`;

export async function main(argv: string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      brokers: { type: 'string' },
      override: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help === true || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined && values.help !== true ? 1 : 0;
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
  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) throw new Error(`Unknown --log-level '${logLevel}'`);

  const started = performance.now();
  if (values.brokers !== undefined) {
    const count = Number(values.brokers);
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`--brokers must be 1-64, got '${values.brokers}'`);
    const cluster = new SpateCluster({
      brokers: count,
      ...(values.config !== undefined ? { configFile: values.config } : {}),
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(port !== undefined ? { basePort: port } : {}),
      ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
      config,
      logLevel,
    });
    await cluster.start();
    const logger = cluster.brokers[0]!.logger;
    logger.info(`Spate cluster of ${count} brokers ready on ${cluster.bootstrap} (started in ${Math.round(performance.now() - started)} ms)`);
    await untilSignal(logger, () => cluster.stop());
    logger.info('Stopped');
    return 0;
  }
  const broker = new SpateBroker({
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
    config,
    logLevel,
  });
  await broker.start();
  broker.logger.info(
    `Spate broker ${broker.config.nodeId} ready on ${broker.bootstrap} (data in ${broker.config.dataDir}, started in ${Math.round(performance.now() - started)} ms)`,
  );

  await untilSignal(broker.logger, () => broker.stop());
  broker.logger.info('Stopped');
  return 0;
}

/** Waits for SIGTERM or SIGINT, then runs `stop`. */
function untilSignal(logger: { info(message: string): void; error(message: string): void }, stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info(`${signal} received, shutting down`);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      stop().then(resolve, (error: unknown) => {
        logger.error(`Shutdown failed: ${(error as Error).message}`);
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
