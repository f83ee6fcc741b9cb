// Hosts for the many-machines benchmark: network namespaces joined by a bridge, each with its own
// address, so that every host reaches the server over a network of its own rather than over one
// shared loopback (`ip netns`, `ip link … type veth`, from iproute2; root only). Where namespaces
// cannot be made, the hosts are plain process groups on loopback, and the report says so.
import { execFileSync } from 'node:child_process';

const BRIDGE = 'mlrunbr0';
const SUBNET = '10.77.0';

export interface Host {
  name: string;
  /** argv that runs a program on this host */
  wrap(argv: string[]): string[];
}

export interface Hosts {
  /** the address the server listens on, reachable from every host */
  serverAddress: string;
  hosts: Host[];
  /** how the hosts were made, for the report */
  kind: string;
  remove(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // already gone
  }
}

export function makeHosts(count: number): Hosts {
  const names = Array.from({ length: count }, (_, index) => `mlrun-h${index + 1}`);
  const remove = () => {
    for (const name of names) quietly(() => ip(['netns', 'del', name]));
    quietly(() => ip(['link', 'del', BRIDGE]));
  };
  try {
    remove();
    ip(['link', 'add', BRIDGE, 'type', 'bridge']);
    ip(['addr', 'add', `${SUBNET}.1/24`, 'dev', BRIDGE]);
    ip(['link', 'set', BRIDGE, 'up']);
    names.forEach((name, index) => {
      const outside = `mlrun-v${index + 1}`;
      ip(['netns', 'add', name]);
      ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
      ip(['link', 'set', outside, 'master', BRIDGE, 'up']);
      ip(['-n', name, 'addr', 'add', `${SUBNET}.${11 + index}/24`, 'dev', 'eth0']);
      ip(['-n', name, 'link', 'set', 'eth0', 'up']);
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
    });
  } catch (error) {
    remove();
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      serverAddress: '127.0.0.1',
      hosts: names.map((name) => ({ name, wrap: (argv) => argv })),
      kind: `${count} process groups on loopback (network namespaces could not be made: ${reason})`,
      remove: () => undefined,
    };
  }
  return {
    serverAddress: `${SUBNET}.1`,
    hosts: names.map((name) => ({ name, wrap: (argv) => ['ip', 'netns', 'exec', name, ...argv] })),
    kind: `${count} network namespaces (${SUBNET}.11–${SUBNET}.${10 + count}) on a bridge, the server at ${SUBNET}.1`,
    remove,
  };
}
