import { BlockList, isIPv4, isIPv6 } from 'node:net';

// Never a webhook receiver: private, loopback, link-local (the instance metadata service among
// them), shared, documentation, multicast and reserved ranges (IANA special-purpose registries).
const BLOCKED_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const BLOCKED_V6: readonly [string, number][] = [
  // Unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d.
  ['::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

const blocked = new BlockList();
for (const [net, prefix] of BLOCKED_V4) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of BLOCKED_V6) blocked.addSubnet(net, prefix, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * Why an address may not be connected to, or undefined when it may. IPv6 forms that carry an
 * IPv4 address (v4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by
 * the IPv4 address inside. Loopback passes only when `allowLoopback` (local runs and tests).
 */
export function refusal(address: string, allowLoopback: boolean): string | undefined {
  const v4 = isIPv4(address) ? address : embeddedV4(address);
  if (v4 === undefined && !isIPv6(address)) return `${address} is not an IP address`;
  const [ip, family] = v4 !== undefined ? [v4, 'ipv4' as const] : [address, 'ipv6' as const];
  if (allowLoopback && loopback.check(ip, family)) return undefined;
  if (blocked.check(ip, family)) return `${address} is a private, loopback or reserved address`;
  return undefined;
}

/** The IPv4 address an IPv6 address carries, if it is of a form that carries one. */
export function embeddedV4(address: string): string | undefined {
  if (!isIPv6(address)) return undefined;
  const words = expand(address);
  const v4 = (high: number | undefined, low: number | undefined) =>
    high === undefined || low === undefined
      ? undefined
      : [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  const zeros = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6], words[7]);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6], words[7]);
  if (words[0] === 0x2002) return v4(words[1], words[2]);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted IPv4 part included). */
function expand(address: string): number[] {
  let text = address.split('%')[0] ?? address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (dotted !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    text = `${text.slice(0, -dotted.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const fill = Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...fill, ...back];
}
