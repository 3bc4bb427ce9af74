// The `spate` command line: `spate start [--config FILE] [--host H] [--port N]
// [--data-dir DIR] [--override key=value ...]`.

import { parseArgs } from 'node:util';
import { type LogLevel } from '../logger.js';
import { SpateBroker } from '../server/broker-server.js';

const USAGE = `Usage: spate start [options]

Starts a Spate broker (Kafka protocol) in the foreground.

Options:
  --config FILE       Kafka-style properties file (server.properties)
  --host HOST         host to listen on (default 127.0.0.1)
  --port PORT         port to listen on (default 9092; 0 picks a free one)
  --data-dir DIR      data directory (default ./data)
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

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      broker.logger.info(`${signal} received, shutting down`);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      broker.stop().then(resolve, (error: unknown) => {
        broker.logger.error(`Shutdown failed: ${(error as Error).message}`);
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  broker.logger.info('Stopped');
  return 0;
}
