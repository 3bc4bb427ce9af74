// Spate as a library: start and stop brokers inside a Node process.

export { SpateBroker, startBroker, type BrokerOptions } from './server/broker-server.js';
export { type BrokerConfig } from './config/broker-config.js';
export { createLogger, type Logger, type LogLevel } from './logger.js';
