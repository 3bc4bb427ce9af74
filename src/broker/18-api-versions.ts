// ApiVersions, v0-4. The answer is built from the handler table, so it lists exactly what
// is implemented. An unknown version is answered by the dispatcher in v0 with
// UNSUPPORTED_VERSION and this API's range (KIP-511). No feature flags are advertised yet
// (Kafka 4.x lists metadata.version and friends under SupportedFeatures).

import { ErrorCode } from '../protocol/errors.js';
import { type ApiVersionsRequest, type ApiVersionsResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';

export const apiVersionsHandler = defineHandler<ApiVersionsRequest, ApiVersionsResponse>({
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  handle(_request, context) {
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: context.broker.supportedApis.map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion })),
      throttleTimeMs: 0,
    };
  },
});
