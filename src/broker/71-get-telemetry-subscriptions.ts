// GetTelemetrySubscriptions, v0 (KIP-714): a client's metrics subscription: its instance id
// (assigned when it sends zeros), the subscription id, the metric-name prefixes and push
// interval from the client-metrics subscriptions that match it (none: no metrics, and it
// asks again after the default interval of 5 minutes), no compression (an empty list), and
// telemetry.max.bytes. Unlike Kafka, the broker is its own receiver: it needs no metrics
// reporter plugin to offer this API (see src/telemetry/client-telemetry.ts).

import { type GetTelemetrySubscriptionsRequest, type GetTelemetrySubscriptionsResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const getTelemetrySubscriptionsHandler = defineHandler<GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse>({
  apiKey: 71,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const { telemetry } = context.broker;
    const answer = telemetry.subscriptions(request.clientInstanceId, telemetry.identity(context.connection, context.clientId), context.broker.now());
    return { throttleTimeMs: 0, ...answer };
  },
});
