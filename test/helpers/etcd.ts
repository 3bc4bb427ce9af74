// Throwaway etcd servers for tests: one member, or a cluster of several, each with its own
// data directory and client and peer URLs on free loopback ports. A member can be killed
// (SIGKILL, its data kept) and started again on the same ports and data, which is how the
// tests stop etcd for a while; stop() kills every member and removes the directories.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process-broker.js';

export interface EtcdMember {
  readonly name: string;
  /** "127.0.0.1:port", the member's client URL without the scheme. */
  readonly hostPort: string;
  /** The running process (undefined while killed). */
  readonly child: ChildProcess | undefined;
  /** SIGKILL, the data directory kept. */
  kill(): Promise<void>;
  /** Starts the killed member again on the same ports and data directory. */
  restart(): Promise<void>;
}

export interface EtcdServer extends EtcdMember {
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** "host:port,host:port,...", for etcd://... */
  readonly endpoints: string;
  stop(): Promise<void>;
}

/** Why etcd tests cannot run here, or undefined when the `etcd` binary is on PATH. */
export function etcdMissing(): string | undefined {
  const found = spawnSync('etcd', ['--version'], { stdio: 'ignore' });
  return found.error === undefined && found.status === 0 ? undefined : 'the etcd binary is not installed (Debian: apt-get install etcd-server; .ci/run installs it)';
}

interface MemberPlan {
  readonly name: string;
  readonly dir: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

/** Spawns one member; resolves once it serves clients (a member of a cluster only does once the cluster has a leader). */
function spawnMember(plan: MemberPlan, initialCluster: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const client = `http://127.0.0.1:${plan.clientPort}`;
  const peer = `http://127.0.0.1:${plan.peerPort}`;
  const child = spawn(
    'etcd',
    [
      '--name',
      plan.name,
      '--data-dir',
      plan.dir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      'spate-test',
      // A killed member's peers notice it within a second or two, as in production settings.
      '--heartbeat-interval',
      '100',
      '--election-timeout',
      '1000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`etcd ${plan.name} did not become ready in 20 s:\n${output.slice(-4000)}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      if (output.length < 1_000_000) output += chunk.toString();
      if (output.includes('ready to serve client requests')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        // Keep draining its output so that it never blocks on a full pipe.
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`etcd ${plan.name} exited before ready:\n${output.slice(-4000)}`));
    });
  });
}

async function startMembers(count: number): Promise<{ members: EtcdMember[]; root: string }> {
  const root = mkdtempSync(join(tmpdir(), 'spate-etcd-'));
  const plans: MemberPlan[] = [];
  for (let i = 0; i < count; i++) plans.push({ name: `etcd${i}`, dir: join(root, `etcd${i}`), clientPort: await freePort(), peerPort: await freePort() });
  const initialCluster = plans.map((plan) => `${plan.name}=http://127.0.0.1:${plan.peerPort}`).join(',');
  const started = await Promise.all(plans.map((plan) => spawnMember(plan, initialCluster)));
  const members = plans.map((plan, index) => {
    let running: { child: ChildProcess; exited: Promise<void> } | undefined = started[index];
    const member: EtcdMember = {
      name: plan.name,
      hostPort: `127.0.0.1:${plan.clientPort}`,
      get child() {
        return running?.child;
      },
      async kill() {
        const current = running;
        running = undefined;
        if (current === undefined || current.child.exitCode !== null || current.child.signalCode !== null) return;
        current.child.kill('SIGKILL');
        await current.exited;
      },
      async restart() {
        if (running !== undefined) throw new Error(`etcd ${plan.name} is running`);
        running = await spawnMember(plan, initialCluster);
      },
    };
    return member;
  });
  return { members, root };
}

export async function startEtcd(): Promise<EtcdServer> {
  const { members, root } = await startMembers(1);
  const member = members[0]!;
  return {
    name: member.name,
    hostPort: member.hostPort,
    get child() {
      if (member.child === undefined) throw new Error('etcd is not running');
      return member.child;
    },
    kill: () => member.kill(),
    restart: () => member.restart(),
    async stop() {
      await member.kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A cluster of `count` etcd members on loopback, started together. */
export async function startEtcdCluster(count = 3): Promise<EtcdCluster> {
  const { members, root } = await startMembers(count);
  return {
    members,
    endpoints: members.map((member) => member.hostPort).join(','),
    async stop() {
      for (const member of members) await member.kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
