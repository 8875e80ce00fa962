/**
 * IP address literals as bytes and one canonical spelling: the dotted quad for IPv4 (no leading zeros, as
 * node:net accepts them), RFC 5952 for IPv6 (lower case, no leading zeros, the longest run of two or more zero
 * groups — the first of equal runs — written `::`). One address has exactly one canonical text, so what a yard
 * measures, compares with its tools' output and signs is the same string whoever spelt the request.
 *
 * @example
 *   parseIp("2001:DB8:0::1")?.text      // "2001:db8::1"
 *   parseIp("::ffff:a9fe:a9fe")?.bytes  // 16 bytes; ipv4Embedded(...) gives 169.254.169.254
 */
import { isIPv4, isIPv6 } from "node:net";

export interface ParsedIp {
  v4: boolean;
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  /** The canonical text. */
  text: string;
}

/** `s` as bytes and its canonical text; undefined when it is not an IPv4 or IPv6 literal (zones refused). */
export function parseIp(s: string): ParsedIp | undefined {
  if (s.length > 64 || s.includes("%")) return undefined;
  if (isIPv4(s)) {
    const bytes = Uint8Array.from(s.split(".").map(Number));
    return { v4: true, bytes, text: bytes.join(".") };
  }
  if (!isIPv6(s)) return undefined;
  const [head, tail] = s.split("::") as [string, string | undefined];
  const groups = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (!g.includes(".")) return [parseInt(g, 16)];
          const o = g.split(".").map(Number) as [number, number, number, number];
          return [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
        });
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return { v4: false, bytes, text: ipv6Text(all) };
}

/** RFC 5952 text of eight 16-bit groups. */
function ipv6Text(g: number[]): string {
  let best = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(":");
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Whether `ip` lies in `cidr` (`a.b.c.d/n` or `x::/n`; a bare address is its /32 or /128). */
export function inCidr(ip: ParsedIp, cidr: string): boolean {
  const slash = cidr.indexOf("/");
  const base = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  const bits = slash < 0 ? ip.bytes.length * 8 : Number(cidr.slice(slash + 1));
  if (!base || base.v4 !== ip.v4 || !Number.isInteger(bits) || bits < 0 || bits > ip.bytes.length * 8) return false;
  return prefixEqual(ip.bytes, base.bytes, bits);
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i += 8) {
    const mask = bits - i >= 8 ? 0xff : (0xff << (8 - (bits - i))) & 0xff;
    if ((a[i / 8]! & mask) !== (b[i / 8]! & mask)) return false;
  }
  return true;
}

/** Whether the bits of `ip` after the first `prefix` are all `one`s (true) or all zeros (false). */
export function hostBitsAll(ip: ParsedIp, prefix: number, one: boolean): boolean {
  const n = ip.bytes.length * 8;
  for (let i = prefix; i < n; i++) {
    const bit = (ip.bytes[i >> 3]! >> (7 - (i & 7))) & 1;
    if (bit !== (one ? 1 : 0)) return false;
  }
  return prefix < n;
}

/** IPv6 ranges that are, or lead to, IPv4 or this host: IPv4-compatible (with :: and ::1), IPv4-mapped, NAT64. */
const V6_EMBEDDING = ["::/96", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48"];

/**
 * Why `ip` (canonical) is never a target of a probe or a measurement — unspecified, loopback, link-local, multicast or
 * an IPv6 form of an IPv4 address — or undefined. The yard refuses such targets; an ICON does not ask for them.
 */
export function specialAddress(ip: ParsedIp): string | undefined {
  if (ip.v4) {
    const [a, b] = ip.bytes as unknown as [number, number];
    if (a === 0) return "an unspecified address";
    if (a === 127) return "a loopback address";
    if (a === 169 && b === 254) return "a link-local address";
    if (a >= 224) return "a multicast, reserved or broadcast address";
    return undefined;
  }
  if (inCidr(ip, "::/127")) return "an unspecified or loopback address";
  if (V6_EMBEDDING.some((c) => inCidr(ip, c))) return "an IPv6 form of an IPv4 address (ask for the IPv4 address)";
  if (inCidr(ip, "fe80::/10")) return "a link-local address";
  if (inCidr(ip, "ff00::/8")) return "a multicast address";
  return undefined;
}

/** A subnet's first host, the target when no client address is known: `a.b.c.1` for `a.b.c.0/24`, `x::1` for `x::/48`. */
export function firstHost(subnet: string): string {
  return subnet
    .replace(/\/\d+$/, "")
    .replace(/\.0$/, ".1")
    .replace(/::$/, "::1");
}
