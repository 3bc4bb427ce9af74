// The broker's HTTP side on uWebSockets.js, on its own listener (http.listeners): /metrics
// (Prometheus text), /health and /ready, the REST Proxy v3 API, the WebSocket streams and
// the web console (/console/).
// Started after the Kafka listeners are bound and stopped before the logs close.

import uWS, { type HttpRequest, type HttpResponse } from 'uWebSockets.js';
import { type ApiHandler, type ConnectionInfo, NO_RESPONSE, type RequestContext } from '../broker/api-handler.js';
import { type BrokerState } from '../broker/broker-state.js';
import { type Logger } from '../logger.js';
import { type BrokerMetrics } from '../metrics/broker-metrics.js';
import { type Dispatcher, observedHandle, type RequestTiming } from '../server/dispatcher.js';
import { supportedOperations } from '../security/acls.js';
import { type Resource } from '../security/security-manager.js';
import { type GatewayContext } from './gateway-context.js';
import { exchange, send, sendJson, statusLine, toJson } from './http-support.js';
import { registerConsole } from './console-assets.js';
import { registerRestV3 } from './rest-v3.js';
import { registerStreams, type StreamOptions, type Streams } from './websocket-streams.js';
import { Gauge } from 'prom-client';

import { type HttpListener } from './http-listener.js';
import { type Caller, HttpAuthenticator } from './http-auth.js';

export { parseHttpListener, type HttpListener } from './http-listener.js';

export interface HttpGatewayOptions {
  readonly listener: HttpListener;
  readonly state: BrokerState;
  readonly dispatcher: Dispatcher;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  /** False while the broker is starting or stopping (/ready answers 503 then). */
  readonly ready: () => boolean;
  readonly maxBodyBytes?: number;
  readonly streams?: Partial<StreamOptions>;
}

export class HttpGateway implements GatewayContext {
  readonly state: BrokerState;
  readonly maxBodyBytes: number;
  private readonly app: uWS.TemplatedApp;
  private listenSocket: uWS.us_listen_socket | undefined;
  private boundPort = 0;
  private closing = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  /** What the handlers see as "the connection" of gateway requests. */
  private readonly connectionInfo: ConnectionInfo;
  private readonly streams: Streams;
  private readonly authenticator: HttpAuthenticator;

  constructor(private readonly options: HttpGatewayOptions) {
    this.state = options.state;
    this.maxBodyBytes = options.maxBodyBytes ?? options.state.config.socketRequestMaxBytes;
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    const isOpen = () => !this.closing;
    this.authenticator = new HttpAuthenticator(options.state);
    this.connectionInfo = {
      id: 0,
      remoteAddress: 'http-gateway',
      // Handlers see the gateway as one connection on the first listener; who is asking (and
      // from where) travels in each request's context (invoke's caller).
      remoteHost: '127.0.0.1',
      security: options.state.security.session(options.state.config.listeners[0]!.name),
      // Quotas mute a Kafka connection; gateway requests are not throttled yet.
      throttle: () => undefined,
      closed: this.closedPromise,
      get isOpen() {
        return isOpen();
      },
    };
    this.app = uWS.App();
    this.app.get('/health', (res) => sendJson(exchange(res), 200, { status: 'UP' }));
    this.app.get('/ready', (res) => {
      const ready = options.ready();
      sendJson(exchange(res), ready ? 200 : 503, { status: ready ? 'READY' : 'NOT_READY' });
    });
    this.app.get('/metrics', (res, req) => {
      if (this.caller(res, req) === undefined) return;
      const target = exchange(res);
      options.metrics.exposition().then(
        (text) => send(target, 200, text, options.metrics.contentType),
        (error: unknown) => send(target, 500, `# metrics failed: ${(error as Error).message}\n`, 'text/plain'),
      );
    });
    registerRestV3(this.app, this);
    registerConsole(this.app, (res, req) => this.caller(res, req) !== undefined);
    const streams = (this.streams = registerStreams(this.app, this, options.streams));
    new Gauge({
      name: 'spate_websocket_buffered_bytes',
      help: 'Bytes queued in WebSocket send buffers (delivery pauses above the per-socket limit).',
      registers: [options.metrics.registry],
      collect() {
        this.set(streams.bufferedBytes());
      },
    });
    new Gauge({
      name: 'spate_websocket_connections',
      help: 'Open WebSocket stream connections.',
      registers: [options.metrics.registry],
      collect() {
        this.set(streams.sockets());
      },
    });
    this.app.any('/*', (res, req) => {
      const url = req.getUrl();
      sendJson(exchange(res), 404, { error_code: 404, message: `HTTP 404 Not Found: ${url}` });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get baseUrl(): string {
    const host = this.options.listener.host;
    const shown = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${this.boundPort}`;
  }

  start(): Promise<this> {
    const { host, port } = this.options.listener;
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (token) => {
        if (token === false) {
          reject(new Error(`Cannot listen for HTTP on ${host}:${port} (address in use or not available)`));
          return;
        }
        this.listenSocket = token;
        this.boundPort = uWS.us_socket_local_port(token);
        resolve(this);
      });
    });
  }

  stop(): void {
    if (this.closing) return;
    this.closing = true;
    this.streams.stop();
    this.options.metrics.close();
    if (this.listenSocket !== undefined) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
    // Closes the open HTTP and WebSocket connections too (in the binary, not in its typings).
    (this.app as uWS.TemplatedApp & { close(): void }).close();
    this.resolveClosed();
  }

  caller(res: HttpResponse, req: HttpRequest): Caller | undefined {
    const host = Buffer.from(res.getRemoteAddressAsText())
      .toString('utf8')
      .replace(/^::ffff:/, '');
    const authentication = this.authenticator.authenticate(req.getHeader('authorization'), host);
    if ('caller' in authentication) return authentication.caller;
    this.options.logger.debug(`HTTP ${req.getMethod().toUpperCase()} ${req.getUrl()} from ${host} refused: ${authentication.refused}`);
    // Confluent REST Proxy's authentication error code.
    const body = toJson({ error_code: 40101, message: authentication.refused });
    res.cork(() => {
      res.writeStatus(statusLine(401)).writeHeader('www-authenticate', 'Basic realm="Spate", charset="UTF-8"').writeHeader('content-type', 'application/json').end(body);
    });
    return undefined;
  }

  authorize(caller: Caller, operation: number, resource: Resource): boolean {
    return this.state.security.authorize(caller.principal, caller.host, operation, resource);
  }

  async invoke<Response>(apiKey: number, apiVersion: number, request: unknown, caller: Caller): Promise<Response> {
    const handler: ApiHandler | undefined = this.options.dispatcher.handler(apiKey);
    if (handler === undefined) throw new Error(`No handler for API key ${apiKey}`);
    const security = this.state.security;
    const { principal, host } = caller;
    const context: RequestContext = {
      apiKey,
      apiVersion,
      correlationId: 0,
      clientId: 'spate-http',
      broker: this.state,
      connection: this.connectionInfo,
      principal,
      remoteMs: 0,
      authorize: (operation, resource) => security.authorize(principal, host, operation, resource),
      authorizeAny: (operation, resourceType) => security.authorizeAny(principal, host, operation, resourceType),
      authorizedOperations: (resource) => security.authorizedOperations(principal, host, resource, supportedOperations(resource.type)),
    };
    const timing: RequestTiming = { apiKey, apiVersion, startedAt: 0, remoteMs: 0 };
    try {
      const response = await observedHandle(handler, request, context, this.options.dispatcher.observer, timing);
      if (response === NO_RESPONSE) throw new Error('The handler sent no response');
      return response as Response;
    } finally {
      this.options.metrics.gatewayHandled(apiKey, apiVersion, performance.now() - timing.startedAt, timing.remoteMs);
    }
  }
}
