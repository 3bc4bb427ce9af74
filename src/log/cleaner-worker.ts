// The entry of the log cleaner's worker thread (log-cleaner.ts): compaction reads,
// decompresses and rewrites segments here, never on the event loop.

import { cleanLog, type CleanResult, type CleanTask } from './compaction.js';

export default function run(task: CleanTask): Promise<CleanResult> {
  return cleanLog(task);
}
