// Runs Debian's kcat (librdkafka) against a broker: a real, independent client to read
// back what other clients wrote and to write what others read.

import { spawn } from 'node:child_process';

export interface KcatRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: string[], input?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** Reads a topic from the beginning to its current end (-e) as JSON lines. */
export async function kcatConsume(bootstrap: string, topic: string, extra: string[] = []): Promise<KcatRecord[]> {
  const result = await run('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-J', '-q', ...extra]);
  if (result.code !== 0) throw new Error(`kcat -C failed (${result.code}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const json = JSON.parse(line) as { topic: string; partition: number; offset: number; key: string | null; payload: string | null; ts: number };
      return { topic: json.topic, partition: json.partition, offset: json.offset, key: json.key, value: json.payload, timestamp: json.ts };
    });
}

/** Produces lines of stdin as records; `key<delimiter>value` when a key delimiter is given. */
export async function kcatProduce(bootstrap: string, topic: string, lines: string[], extra: string[] = []): Promise<RunResult> {
  const result = await run('kcat', ['-P', '-b', bootstrap, '-t', topic, ...extra], lines.join('\n') + '\n');
  if (result.code !== 0) throw new Error(`kcat -P failed (${result.code}): ${result.stderr}`);
  return result;
}
