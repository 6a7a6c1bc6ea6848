// A host of its own for one role: a network namespace with its own address, joined to this
// machine by a veth pair. Inside it, 127.0.0.0/8 is routed over the veth (route_localnet), so
// the host reaches the database, moto and the cache nodes on this machine's loopback addresses
// as a host on the VPC would reach them, while it listens on its own address. A second veth
// carries the traffic to one chosen cache node: setting it down cuts this host off that node
// alone (packets are dropped, as on a cut link: connections time out, they are not refused).
import { execFileSync } from 'node:child_process';

export type NetnsHost = {
  readonly netns: string;
  /** The host's own address, where its role listens (reachable from this machine). */
  readonly address: string;
  /** This machine's address on the host's link. */
  readonly gateway: string;
  /** Cuts this host off `host:port` (a cache node) until heal(). */
  cut(host: string, port: number): void;
  heal(): void;
  destroy(): void;
};

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const inNs = (netns: string, ...args: string[]) => ip('netns', 'exec', netns, ...args);
const CUT_TABLE = '100';

function removeLeftovers(netns: string, links: string[]): void {
  for (const link of links) {
    try {
      ip('link', 'del', link);
    } catch {
      // not there
    }
  }
  try {
    ip('netns', 'del', netns);
  } catch {
    // not there
  }
}

/** One veth pair: `outer` here with `net`.`base+1`, `inner` in the namespace with .`base+2` (a /30; route_localnet on both). */
function link(netns: string, outer: string, inner: string, net: string, base: number): string {
  const inside = `${net}.${base + 2}`;
  ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
  ip('link', 'set', inner, 'netns', netns);
  ip('addr', 'add', `${net}.${base + 1}/30`, 'dev', outer);
  ip('link', 'set', outer, 'up');
  execFileSync('sysctl', ['-qw', `net.ipv4.conf.${outer}.route_localnet=1`]);
  inNs(netns, 'ip', 'addr', 'add', `${inside}/30`, 'dev', inner);
  inNs(netns, 'ip', 'link', 'set', inner, 'up');
  inNs(netns, 'sysctl', '-qw', `net.ipv4.conf.${inner}.route_localnet=1`);
  return inside;
}

/**
 * `name`: a short label (the namespace and links are `emcf-<name>…`, at most 5 characters);
 * `octet`: picks the addresses 10.212.<octet>.0/30 (the host) and 10.212.<octet>.4/30 (the cut link);
 * `address`: the host's own address instead of 10.212.<octet>.2 (an EC2 instance's private IP
 * in moto's default subnet), routed from this machine over the host's link.
 */
export function createNetnsHost(name: string, octet: number, address?: string): NetnsHost {
  const netns = `emcf-${name}`;
  const [main, mainInner, cutOuter, cutInner] = ['m', 'n', 'c', 'd'].map((s) => `emcf-${name}${s}`) as [string, string, string, string];
  const net = `10.212.${octet}`;
  const destroy = () => removeLeftovers(netns, [main, cutOuter]);
  destroy();
  let cutRule: string[] | undefined;
  try {
    ip('netns', 'add', netns);
    const linkAddress = link(netns, main, mainInner, net, 0);
    if (address) {
      inNs(netns, 'ip', 'addr', 'add', `${address}/32`, 'dev', mainInner);
      ip('route', 'add', `${address}/32`, 'via', linkAddress, 'dev', main);
    }
    // The namespace's own loopback stays down: 127.0.0.0/8 means this machine's, over the veth.
    inNs(netns, 'ip', 'route', 'add', '127.0.0.0/8', 'via', `${net}.1`, 'dev', mainInner);
    link(netns, cutOuter, cutInner, net, 4);
    inNs(netns, 'ip', 'route', 'add', '127.0.0.0/8', 'via', `${net}.5`, 'dev', cutInner, 'table', CUT_TABLE);
    return {
      netns,
      address: address ?? linkAddress,
      gateway: `${net}.1`,
      cut(host, port) {
        cutRule = ['to', `${host}/32`, 'ipproto', 'tcp', 'dport', String(port), 'lookup', CUT_TABLE];
        inNs(netns, 'ip', 'rule', 'add', ...cutRule);
        ip('link', 'set', cutOuter, 'down');
      },
      heal() {
        if (!cutRule) return;
        ip('link', 'set', cutOuter, 'up');
        inNs(netns, 'ip', 'rule', 'del', ...cutRule);
        cutRule = undefined;
      },
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
