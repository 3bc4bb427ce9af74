// DescribeLogDirs, v1-5: the one log directory with the size of every (or every asked)
// partition, offsetLag 0 (no future replicas), and from v4 the file system's total and
// usable bytes. Partitions not hosted here are left out, as Kafka does.

import { statfsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode } from '../protocol/errors.js';
import { type DescribeLogDirsRequest, type DescribeLogDirsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

export const describeLogDirsHandler = defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  apiKey: 35,
  minVersion: 1,
  maxVersion: 5,
  handle(request, context) {
    const { broker } = context;
    if (!context.authorize(AclOperation.DESCRIBE, CLUSTER_RESOURCE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const wanted = request.topics === null ? null : new Map(request.topics.map((topic) => [topic.topic, new Set(topic.partitions)]));
    const topics = [];
    for (const topic of broker.logs.allTopics()) {
      const partitions = wanted === null ? undefined : wanted.get(topic.name);
      if (wanted !== null && partitions === undefined) continue;
      const described = topic.partitions
        .filter((log) => partitions === undefined || partitions.has(log.partition))
        .map((log) => ({ partitionIndex: log.partition, partitionSize: BigInt(log.sizeInBytes), offsetLag: 0n, isFutureKey: false }));
      if (described.length > 0) topics.push({ name: topic.name, partitions: described });
    }
    let totalBytes = -1n;
    let usableBytes = -1n;
    try {
      const stats = statfsSync(broker.config.dataDir, { bigint: true });
      totalBytes = stats.blocks * stats.bsize;
      usableBytes = stats.bavail * stats.bsize;
    } catch {
      // Unknown sizes are -1, as in Kafka.
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: resolve(broker.config.dataDir), topics, totalBytes, usableBytes, isCordoned: false }],
    };
  },
});
