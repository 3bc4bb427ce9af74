// The BROKER_LOGGER config resource: kafka-configs --entity-type broker-loggers describes the
// broker's log level and changes it at run time; the change takes effect at once.

import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { encodeRequest, RawClient } from '../helpers/raw-client.js';
import { javaToolsAvailable, runKafkaTool, TOOLS } from '../helpers/java-tools.js';
import { createLogger } from '../../src/logger.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const BROKER_LOGGER = 8;

t.test('BROKER_LOGGER: describe and change the level', async (t) => {
  const lines: string[] = [];
  const broker = await startTestBroker(t, { logger: createLogger('warn', (line) => lines.push(line)) });
  const client = await RawClient.connect(broker.bootstrap);
  t.teardown(() => client.close());
  const describe = async (name = '1') =>
    (
      await client.request(32, 4, {
        resources: [{ resourceType: BROKER_LOGGER, resourceName: name, configurationKeys: null }],
        includeSynonyms: false,
        includeDocumentation: false,
      })
    ).body.results[0];
  const alter = async (configs: Array<{ name: string; configOperation: number; value: string | null }>) =>
    (await client.request(44, 1, { resources: [{ resourceType: BROKER_LOGGER, resourceName: '1', configs }], validateOnly: false })).body.responses[0];
  // A request with bytes after its body is logged at DEBUG: a probe for the level in force.
  const probe = async () => {
    const frame = Buffer.concat([encodeRequest(3, 12, 9, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }), Buffer.from([0, 0])]);
    frame.writeInt32BE(frame.length - 4, 0);
    client.write(frame);
    await client.nextFrame();
    return lines.some((line) => line.includes('DEBUG Ignoring 2 bytes'));
  };
  t.match((await describe()).configs, [{ name: 'root', value: 'WARN', configSource: 6 }]);
  t.equal((await describe('7')).errorCode, ErrorCode.INVALID_REQUEST, 'another broker id');
  t.notOk(await probe(), 'nothing at DEBUG while the level is WARN');
  t.match(await alter([{ name: 'root', configOperation: 0, value: 'LOUD' }]), { errorCode: ErrorCode.INVALID_CONFIG });
  t.match(await alter([{ name: 'kafka.server', configOperation: 0, value: 'DEBUG' }]), { errorCode: ErrorCode.INVALID_CONFIG }, 'one logger, root');
  t.match(await alter([{ name: 'root', configOperation: 0, value: 'TRACE' }]), { errorCode: 0 });
  t.match((await describe()).configs, [{ name: 'root', value: 'TRACE' }]);
  t.ok(await probe(), 'TRACE logs DEBUG lines at once');
  t.match(await alter([{ name: 'root', configOperation: 1, value: null }]), { errorCode: 0 });
  t.match((await describe()).configs, [{ name: 'root', value: 'WARN' }], 'DELETE restores the start level');
});

t.test('kafka-configs --entity-type broker-loggers', { skip: !javaToolsAvailable() && 'Kafka Java tools missing' }, async (t) => {
  const broker = await startTestBroker(t);
  const tool = (args: string[]) => runKafkaTool(TOOLS.configs, ['--bootstrap-server', broker.bootstrap, ...args]);
  const altered = await tool(['--alter', '--entity-type', 'broker-loggers', '--entity-name', '1', '--add-config', 'root=DEBUG']);
  t.equal(altered.code, 0, altered.stderr.slice(-2000));
  const described = await tool(['--describe', '--entity-type', 'broker-loggers', '--entity-name', '1']);
  t.equal(described.code, 0, described.stderr.slice(-2000));
  t.match(described.stdout, /root=DEBUG/);
});
