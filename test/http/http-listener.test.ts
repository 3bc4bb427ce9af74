// The HTTP listener's configuration: http.listeners parsing, --http-port / httpPort, a port
// already taken refused at start with a clean error, and the broker still stoppable.

import t from 'tap';
import { parseHttpListener } from '../../src/http/http-server.js';
import { SpateBroker } from '../../src/index.js';
import { startTestBroker } from '../helpers/broker.js';

t.test('http.listeners values', async (t) => {
  t.same(parseHttpListener('http://127.0.0.1:8082'), { host: '127.0.0.1', port: 8082 });
  t.same(parseHttpListener('http://[::1]:0/'), { host: '::1', port: 0 });
  t.same(parseHttpListener('http://:9000'), { host: '0.0.0.0', port: 9000 });
  t.throws(() => parseHttpListener('https://127.0.0.1:8443'), /http\.listeners/);
  t.throws(() => parseHttpListener('http://127.0.0.1:70000'), /port out of range/);
  t.throws(() => new SpateBroker({ temporary: true, logLevel: 'silent', config: { 'http.listeners': 'tcp://x:1' } }), /http\.listeners/);
});

t.test('httpPort picks the HTTP port; a taken port fails the start cleanly', async (t) => {
  const first = await startTestBroker(t, { httpPort: 0 });
  const port = first.httpPort!;
  t.ok(port > 0);
  t.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  t.equal((await fetch(`http://127.0.0.1:${port}/nothing`)).status, 404);
  const second = new SpateBroker({ host: '127.0.0.1', port: 0, httpPort: port, temporary: true, logLevel: 'silent' });
  await t.rejects(second.start(), /Cannot listen for HTTP on 127\.0\.0\.1:\d+/);
  await second.stop();
  // An explicit http.listeners wins over the "Kafka port 0 means HTTP port 0" rule.
  const third = new SpateBroker({ host: '127.0.0.1', port: 0, temporary: true, logLevel: 'silent', config: { 'http.listeners': `http://127.0.0.1:${port}` } });
  await t.rejects(third.start(), /Cannot listen for HTTP/);
  await third.stop();
});
