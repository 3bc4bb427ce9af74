// What a consumer group subscribes to, resolved against the cluster's topics: topic names
// plus SubscribedTopicRegex matches (KIP-848 regex subscriptions), and the hash of the
// subscribed topics' metadata whose change bumps the group epoch (KIP-1101).

import { createHash } from 'node:crypto';
import { type TopicCatalog, type TopicInfo } from '../cluster/metadata.js';
import { type ConsumerGroup, type ConsumerGroupMember } from './consumer-group.js';

const regexCache = new Map<string, { regex?: RegExp; problem?: string }>();

/**
 * RE2/J syntax that JavaScript spells differently: leading inline flags `(?ims)`, `\Q...\E`
 * literal runs, and the `\A` / `\z` text anchors. Everything else is passed through.
 */
function fromJavaSyntax(pattern: string): { source: string; flags: string } {
  let source = pattern;
  let flags = '';
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (leading !== null) {
    for (const flag of leading[1]!) {
      if (flag !== 'i' && flag !== 'm' && flag !== 's') throw new Error(`flag '${flag}' is not supported`);
      if (!flags.includes(flag)) flags += flag;
    }
    source = source.slice(leading[0].length);
  }
  source = source.replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_, literal: string) => literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  source = source.replace(/(^|[^\\])\\A/g, '$1^').replace(/(^|[^\\])\\z/g, '$1$$');
  return { source, flags };
}

/**
 * A SubscribedTopicRegex (RE2/J syntax in Kafka) as a JS RegExp that must match a whole topic
 * name, as Java's Matcher.matches() does; or the reason it does not compile.
 */
export function compileTopicRegex(pattern: string): { regex?: RegExp; problem?: string } {
  let compiled = regexCache.get(pattern);
  if (compiled === undefined) {
    try {
      const { source, flags } = fromJavaSyntax(pattern);
      new RegExp(source, flags);
      compiled = { regex: new RegExp(`^(?:${source})$`, flags) };
    } catch (error) {
      compiled = { problem: (error as Error).message };
    }
    if (regexCache.size >= 1000) regexCache.clear();
    regexCache.set(pattern, compiled);
  }
  return compiled;
}

export class SubscribedTopics {
  constructor(private readonly catalog: TopicCatalog) {}

  /**
   * The existing topics behind some names and regexes. Kafka's regex resolution leaves
   * internal topics out. `memo` shares regex matches between the calls of one operation.
   */
  resolve(names: Iterable<string>, regexes: Iterable<string>, memo = new Map<string, TopicInfo[]>()): Map<string, TopicInfo> {
    const topics = new Map<string, TopicInfo>();
    for (const name of names) {
      const topic = this.catalog.topicInfo(name);
      if (topic !== undefined) topics.set(name, topic);
    }
    for (const pattern of regexes) {
      let matched = memo.get(pattern);
      if (matched === undefined) {
        const regex = compileTopicRegex(pattern).regex;
        matched = regex === undefined ? [] : this.catalog.topicInfos().filter((topic) => !topic.internal && regex.test(topic.name));
        memo.set(pattern, matched);
      }
      for (const topic of matched) topics.set(topic.name, topic);
    }
    return topics;
  }

  /** The existing topics a member subscribes to: its names, plus what its regex matches. */
  ofMember(member: ConsumerGroupMember, memo?: Map<string, TopicInfo[]>): TopicInfo[] {
    const regexes = member.subscribedTopicRegex === null ? [] : [member.subscribedTopicRegex];
    return [...this.resolve(member.subscribedTopicNames, regexes, memo).values()];
  }

  /** The existing topics any member of the group subscribes to. */
  ofGroup(group: ConsumerGroup): Map<string, TopicInfo> {
    const names = new Set<string>();
    const regexes = new Set<string>();
    for (const member of group.members.values()) {
      for (const name of member.subscribedTopicNames) names.add(name);
      if (member.subscribedTopicRegex !== null) regexes.add(member.subscribedTopicRegex);
    }
    return this.resolve(names, regexes);
  }

  /** Names the group's members subscribe to, existing or not, plus what their regexes match. */
  subscribedTopicNames(group: ConsumerGroup): Set<string> {
    const names = new Set(this.ofGroup(group).keys());
    for (const member of group.members.values()) for (const name of member.subscribedTopicNames) names.add(name);
    return names;
  }

  /** A hash of the subscribed topics' names, IDs and partition counts; 0 when there are none. */
  metadataHash(group: ConsumerGroup): bigint {
    const topics = this.ofGroup(group);
    if (topics.size === 0) return 0n;
    const text = [...topics.values()]
      .map((topic) => `${topic.name}:${topic.id.toString('hex')}:${topic.partitionCount}`)
      .sort()
      .join(',');
    return createHash('sha256').update(text).digest().readBigInt64BE(0);
  }
}
