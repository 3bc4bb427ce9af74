// PushTelemetry, v0 (KIP-714): a client's metrics, OpenTelemetry MetricsData in protobuf.
// Refused as Kafka refuses them: INVALID_REQUEST for a zero instance id or a push after the
// terminating one, UNKNOWN_SUBSCRIPTION_ID for an unknown instance or a subscription id that
// is not the current one (the client asks again), THROTTLING_QUOTA_EXCEEDED for a push well
// before its interval (Kafka refuses any push inside the interval; Spate lets one after half
// of it through), UNSUPPORTED_COMPRESSION_TYPE (only uncompressed pushes are offered),
// TELEMETRY_TOO_LARGE, and INVALID_RECORD for a payload that is not MetricsData.

import { type PushTelemetryRequest, type PushTelemetryResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const pushTelemetryHandler = defineHandler<PushTelemetryRequest, PushTelemetryResponse>({
  apiKey: 72,
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const { telemetry } = context.broker;
    return { throttleTimeMs: 0, errorCode: telemetry.push(request, telemetry.identity(context.connection, context.clientId), context.broker.now()) };
  },
});
