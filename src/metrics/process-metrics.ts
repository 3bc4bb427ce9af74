// The metrics of the Node process itself: prom-client's defaults (CPU, memory, heap, event
// loop lag percentiles, GC pause histogram by kind) and the event loop utilisation since the
// previous scrape. They describe the process, not a broker, so there is one registry per
// process, created when the first broker's HTTP server starts and shared by every broker in it.

import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

let shared: Registry | undefined;

export function processMetrics(): Registry {
  if (shared !== undefined) return shared;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Share of the time the event loop was busy since the previous scrape (0-1).',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, previous).utilization);
      previous = now;
    },
  });
  shared = registry;
  return registry;
}
