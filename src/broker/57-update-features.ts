// UpdateFeatures, v0-2: `kafka-features upgrade|downgrade|disable`. All updates of a request
// are applied together or not at all. v0's allowDowngrade is read as a safe downgrade. v0-1
// answer a result per feature (each carrying the request's outcome, as Kafka's controller
// answers); v2 answers only the top-level error.

import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { type UpdateFeaturesRequest, type UpdateFeaturesResponse } from '../protocol/generated/index.js';
import { defineHandler } from './api-handler.js';
import { UpgradeType } from './features.js';

export const updateFeaturesHandler = defineHandler<UpdateFeaturesRequest, UpdateFeaturesResponse>({
  apiKey: 57,
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const updates = request.featureUpdates.map((update) => ({
      feature: update.feature,
      maxVersionLevel: update.maxVersionLevel,
      upgradeType: context.apiVersion === 0 ? (update.allowDowngrade === true ? UpgradeType.SAFE_DOWNGRADE : UpgradeType.UPGRADE) : (update.upgradeType ?? UpgradeType.UPGRADE),
    }));
    let errorCode: number = ErrorCode.NONE;
    let errorMessage: string | null = null;
    try {
      context.broker.features.update(updates, request.validateOnly === true);
      if (request.validateOnly !== true) {
        context.broker.logger.info(`Finalised features changed by client ${context.clientId ?? '-'}: ${updates.map((u) => `${u.feature}=${u.maxVersionLevel}`).join(', ')}`);
      }
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      errorCode = error.kafkaCode;
      errorMessage = error.message;
    }
    const results = request.featureUpdates.map((update) => ({ feature: update.feature, errorCode, errorMessage }));
    return { throttleTimeMs: 0, errorCode: context.apiVersion >= 2 ? errorCode : ErrorCode.NONE, errorMessage: context.apiVersion >= 2 ? errorMessage : null, results };
  },
});
