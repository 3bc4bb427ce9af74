// AlterUserScramCredentials, v0: adds, replaces and deletes SCRAM credentials (what
// `kafka-configs --alter --add-config 'SCRAM-SHA-256=[password=...]' --entity-type users`
// sends: the client salts the password, the broker keeps StoredKey and ServerKey). Kafka's
// checks per user: empty name or iterations outside 4096..16384 -> UNACCEPTABLE_CREDENTIAL,
// an unknown mechanism -> UNSUPPORTED_SASL_MECHANISM, deleting what does not exist ->
// RESOURCE_NOT_FOUND, the same user twice for one mechanism -> DUPLICATE_RESOURCE. Needs
// ALTER on the cluster. The valid changes are stored in the cluster's metadata before the
// answer (UNKNOWN_SERVER_ERROR when they cannot be), so every broker authenticates them.

import { ErrorCode } from '../protocol/errors.js';
import { type AlterUserScramCredentialsRequest, type AlterUserScramCredentialsResponse } from '../protocol/generated/index.js';
import { AclOperation } from '../security/acls.js';
import { credentialFromSaltedPassword, SCRAM_MAX_ITERATIONS, SCRAM_MECHANISM_CODES, SCRAM_MIN_ITERATIONS, type ScramCredential, type ScramMechanism } from '../security/scram.js';
import { CLUSTER_RESOURCE } from '../security/security-manager.js';
import { defineHandler } from './api-handler.js';

type Result = { user: string; errorCode: number; errorMessage: string | null };

export const alterUserScramCredentialsHandler = defineHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse>({
  apiKey: 51,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const users = [...new Set([...request.deletions, ...request.upsertions].map((change) => change.name))];
    if (!context.authorize(AclOperation.ALTER, CLUSTER_RESOURCE)) {
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) };
    }
    const store = context.broker.security.scram;
    const errors = new Map<string, Result>();
    const fail = (user: string, errorCode: number, errorMessage: string) => {
      if (!errors.has(user)) errors.set(user, { user, errorCode, errorMessage });
    };
    const seen = new Set<string>();
    const changes: Array<{ user: string; mechanism: ScramMechanism; credential: ScramCredential | null }> = [];
    for (const change of [...request.deletions.map((d) => ({ ...d, upsert: null })), ...request.upsertions.map((u) => ({ ...u, upsert: u }))]) {
      const user = change.name;
      const mechanism = SCRAM_MECHANISM_CODES.get(change.mechanism);
      if (user === '') {
        fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
        continue;
      }
      if (mechanism === undefined) {
        fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
        continue;
      }
      const key = `${user}\u0000${mechanism}`;
      if (seen.has(key)) {
        fail(user, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
        continue;
      }
      seen.add(key);
      if (change.upsert === null) {
        if (store.get(user, mechanism) === undefined) {
          fail(user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
          continue;
        }
        changes.push({ user, mechanism, credential: null });
      } else {
        const { iterations, salt, saltedPassword } = change.upsert;
        if (iterations < SCRAM_MIN_ITERATIONS) {
          fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations (${iterations}; at least ${SCRAM_MIN_ITERATIONS})`);
          continue;
        }
        if (iterations > SCRAM_MAX_ITERATIONS) {
          fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations (${iterations}; at most ${SCRAM_MAX_ITERATIONS})`);
          continue;
        }
        if (salt.length === 0 || saltedPassword.length === 0) {
          fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty');
          continue;
        }
        changes.push({ user, mechanism, credential: credentialFromSaltedPassword(mechanism, Buffer.from(salt), iterations, Buffer.from(saltedPassword)) });
      }
    }
    // A user with any bad change keeps all its credentials as they were (Kafka checks per user).
    const applied = changes.filter((change) => !errors.has(change.user));
    try {
      await store.apply(applied);
    } catch (error) {
      context.broker.logger.error(`AlterUserScramCredentials from ${context.principal} could not be stored: ${(error as Error).message}`);
      for (const user of users) fail(user, ErrorCode.UNKNOWN_SERVER_ERROR, `The credentials could not be stored: ${(error as Error).message}`);
      return { throttleTimeMs: 0, results: users.map((user) => errors.get(user)!) };
    }
    if (applied.length > 0) context.broker.logger.info(`SCRAM credentials changed for ${[...new Set(applied.map((c) => c.user))].join(', ')} by ${context.principal}`);
    return { throttleTimeMs: 0, results: users.map((user) => errors.get(user) ?? { user, errorCode: ErrorCode.NONE, errorMessage: null }) };
  },
});
