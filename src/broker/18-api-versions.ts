// ApiVersions, v0-4. The answer is built from the handler table, so it lists exactly what
// is implemented. An unknown version is answered by the dispatcher in v0 with
// UNSUPPORTED_VERSION and this API's range (KIP-511). From v3 it carries the supported and
// finalised feature levels (KIP-584, see features.ts); like Kafka, v3 leaves out supported
// features whose minimum is 0 (older clients mishandle them). The client software name and
// version are kept for client-metrics matching (KIP-714).

import { ErrorCode } from '../protocol/errors.js';
import { type ApiVersionsRequest, type ApiVersionsResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';
import { SUPPORTED_FEATURES } from './features.js';

export const apiVersionsHandler = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  handle(request, context) {
    const { features } = context.broker;
    // Client software name and version (v3+) are what client-metrics subscriptions can match.
    if (request.clientSoftwareName !== undefined && request.clientSoftwareName !== '') {
      context.broker.telemetry.noteSoftware(context.connection, request.clientSoftwareName, request.clientSoftwareVersion ?? '');
    }
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: context.broker.supportedApis.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })),
      throttleTimeMs: 0,
      supportedFeatures: SUPPORTED_FEATURES.filter((feature) => context.apiVersion >= 4 || feature.minVersion > 0).map(({ name, minVersion, maxVersion }) => ({
        name,
        minVersion,
        maxVersion,
      })),
      finalizedFeaturesEpoch: BigInt(features.epoch),
      finalizedFeatures: features.finalized().map(({ name, level }) => ({ name, maxVersionLevel: level, minVersionLevel: level })),
      zkMigrationReady: false,
    };
  },
});
