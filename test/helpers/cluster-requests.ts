// Requests a cluster test sends to one chosen broker over its own socket (a real client would
// pick the broker itself): DescribeConfigs, and an acks=all Produce of one record.

import { encodeRecordBatch } from '../../src/protocol/record-batch.js';
import { RawClient } from './raw-client.js';

/** DescribeConfigs asked of one broker, over its own socket. */
export async function describeOn(bootstrap: string, resourceType: number, resourceName: string): Promise<Map<string, { value: string | null; source: number }>> {
  const client = await RawClient.connect(bootstrap);
  try {
    const result = (await client.request(32, 4, { resources: [{ resourceType, resourceName, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false })).body
      .results[0];
    if (result.errorCode !== 0) throw new Error(`DescribeConfigs ${resourceName} on ${bootstrap}: error ${result.errorCode} ${result.errorMessage}`);
    return new Map((result.configs as any[]).map((config) => [config.name, { value: config.value, source: config.configSource }]));
  } finally {
    client.close();
  }
}

/** One acks=all Produce v9 of one record to partition 0, sent to `bootstrap`: the partition's error code. */
export async function produceAcksAll(bootstrap: string, topic: string, value: string): Promise<number> {
  const client = await RawClient.connect(bootstrap);
  try {
    const records = encodeRecordBatch({ records: [{ key: null, value: Buffer.from(value), timestamp: BigInt(Date.now()) }] });
    const response = await client.request(0, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    return response.body.responses[0].partitionResponses[0].errorCode;
  } finally {
    client.close();
  }
}
