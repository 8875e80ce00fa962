/**
 * The probe's parsers (yard-node/probe-measure.ts) on outputs recorded from Debian's traceroute 2.1 and iputils
 * ping 20221126 in namespace chains: a reached path, silent hops (`*`, and `* * *` with -q 3), an unreachable
 * route (`!H`), no route at all, lost pings, and lines a parser must ignore. Also the protocol's codec: an answer
 * round-trips, its signature is checked, frames a yard or an ICON must refuse are refused with BAD_FRAME, and
 * 20 000 random and mutated frames decode or throw a ProbeError, nothing else.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Wallet } from "ethers";
import {
  PROBE_REPORT_TYPES,
  ProbeError,
  ProbeErrorCode,
  decodeProbeFrame,
  encodeProbeFrame,
  marketDomain,
  probeReportSigner,
  probeReportValue,
  type SignedProbeResult,
} from "../../../protocol/index.ts";
import { ProbeEnvelope } from "../../../protocol/schema/generated/probe.js";
import { parsePing, parseTraceroute } from "../../../yard-node/probe-measure.ts";
import { inSubnet } from "../../../yard-node/probe.ts";
import { parseIp } from "../../../protocol/yard/ip.ts";

const REACHED = `traceroute to 198.19.9.10 (198.19.9.10), 16 hops max, 60 byte packets
 1  198.18.1.2  0.267 ms
 2  198.18.2.2  1.120 ms
 3  198.19.9.10  2.646 ms
`;

const SILENT_HOP = `traceroute to 198.19.9.10 (198.19.9.10), 16 hops max, 60 byte packets
 1  198.18.1.2  0.311 ms
 2  *
 3  198.19.9.10  21.408 ms
`;

const NEVER_ANSWERS = `traceroute to 198.19.9.99 (198.19.9.99), 16 hops max, 60 byte packets
 1  198.18.1.2  0.073 ms
 2  *
 3  *
 4  *
`;

const THREE_STARS = `traceroute to 198.19.9.99 (198.19.9.99), 4 hops max, 60 byte packets
 1  198.18.1.2  0.150 ms  0.095 ms  0.085 ms
 2  * * *
 3  * * *
 4  * * *
`;

const HOST_UNREACHABLE = `traceroute to 198.19.10.5 (198.19.10.5), 4 hops max, 60 byte packets
 1  198.18.1.2  0.041 ms !H
`;

const NET_UNREACHABLE = `traceroute to 198.20.9.99 (198.20.9.99), 16 hops max, 60 byte packets
 1  198.18.1.2  0.031 ms !N
`;

/** No route in the measuring namespace: the header (without its newline), the error on stderr, exit 1. */
const NO_ROUTE = `traceroute to 198.19.9.10 (198.19.9.10), 4 hops max, 60 byte packets`;

const PING_OK = `PING 198.19.9.10 (198.19.9.10) 56(84) bytes of data.
64 bytes from 198.19.9.10: icmp_seq=1 ttl=63 time=30.91 ms
64 bytes from 198.19.9.10: icmp_seq=2 ttl=63 time=20.38 ms
64 bytes from 198.19.9.10: icmp_seq=3 ttl=63 time=20.37 ms

--- 198.19.9.10 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 407ms
rtt min/avg/max/mdev = 20.37/23.88/30.91/4.96 ms
`;

const PING_LOST = `PING 198.19.9.99 (198.19.9.99) 56(84) bytes of data.

--- 198.19.9.99 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 415ms
`;

const PING_ROUTER_SAYS_UNREACHABLE = `PING 198.19.9.99 (198.19.9.99) 56(84) bytes of data.
From 198.19.9.1 icmp_seq=1 Destination Host Unreachable
From 198.19.9.1 icmp_seq=2 Destination Host Unreachable
64 bytes from 198.19.9.77: icmp_seq=3 ttl=63 time=0.5 ms

--- 198.19.9.99 ping statistics ---
3 packets transmitted, 0 received, +2 errors, 100% packet loss, time 2040ms
`;

describe("probe: parsing traceroute and ping output", () => {
  it("reads a reached path hop by hop, with each hop's rtt", () => {
    expect(parseTraceroute(REACHED, "198.19.9.10")).to.deep.equal({
      hops: [
        { ttl: 1, address: "198.18.1.2", rttMs: 0.267 },
        { ttl: 2, address: "198.18.2.2", rttMs: 1.12 },
        { ttl: 3, address: "198.19.9.10", rttMs: 2.646 },
      ],
      reached: true,
    });
  });

  it("keeps a silent hop as a hop without address, and the path after it", () => {
    const r = parseTraceroute(SILENT_HOP, "198.19.9.10");
    expect(r.hops).to.deep.equal([
      { ttl: 1, address: "198.18.1.2", rttMs: 0.311 },
      { ttl: 2 },
      { ttl: 3, address: "198.19.9.10", rttMs: 21.408 },
    ]);
    expect(r.reached).to.equal(true);
  });

  it("a target that never answers: silent hops to the end, not reached; -q 3 keeps the least rtt", () => {
    const a = parseTraceroute(NEVER_ANSWERS, "198.19.9.99");
    expect(a.reached).to.equal(false);
    expect(a.hops.map((h) => h.address ?? "*")).to.deep.equal(["198.18.1.2", "*", "*", "*"]);
    const b = parseTraceroute(THREE_STARS, "198.19.9.99");
    expect(b.hops).to.deep.equal([{ ttl: 1, address: "198.18.1.2", rttMs: 0.085 }, { ttl: 2 }, { ttl: 3 }, { ttl: 4 }]);
    expect(b.reached).to.equal(false);
  });

  it("an unreachable mark (!H, !N) from a router ends the path there, not reached", () => {
    for (const [out, target] of [
      [HOST_UNREACHABLE, "198.19.10.5"],
      [NET_UNREACHABLE, "198.20.9.99"],
    ] as const) {
      const r = parseTraceroute(out, target);
      expect(r).to.deep.equal({
        hops: [{ ttl: 1, address: "198.18.1.2", rttMs: out.includes("0.041") ? 0.041 : 0.031 }],
        reached: false,
      });
    }
    // The target itself answering with a mark (!X: administratively prohibited) did answer: reached.
    const x = parseTraceroute(" 1  198.18.1.2  0.2 ms\n 2  198.19.9.10  0.4 ms !X\n", "198.19.9.10");
    expect(x.reached).to.equal(true);
  });

  it("no route, warnings, garbage, out-of-order and out-of-range lines give no hops", () => {
    expect(parseTraceroute(NO_ROUTE, "198.19.9.10")).to.deep.equal({ hops: [], reached: false });
    const junk = [
      "traceroute: warning: some warning",
      " 0  198.18.1.2  0.1 ms",
      " 1  198.18.1.2  0.1 ms",
      " 1  198.18.1.9  0.1 ms",
      " 2  not-an-address  zz ms",
      "99  198.18.9.9  0.1 ms",
      " 3  198.18.3.3  nan ms",
    ].join("\n");
    expect(parseTraceroute(junk, "198.19.9.10", 16).hops).to.deep.equal([
      { ttl: 1, address: "198.18.1.2", rttMs: 0.1 },
      { ttl: 2 },
      { ttl: 3, address: "198.18.3.3" },
    ]);
  });

  it("ping: the packets sent and the median (and least) reply from the target only", () => {
    expect(parsePing(PING_OK, "198.19.9.10")).to.deep.equal({ sent: 3, rttMs: 20.38, minRttMs: 20.37 });
    expect(parsePing(PING_LOST, "198.19.9.99")).to.deep.equal({ sent: 3 });
    expect(parsePing(PING_ROUTER_SAYS_UNREACHABLE, "198.19.9.99")).to.deep.equal({ sent: 3 });
    // Killed before its summary: what it would have sent.
    expect(parsePing("PING 198.19.9.10 (198.19.9.10) 56(84) bytes of data.\n", "198.19.9.10")).to.deep.equal({
      sent: 3,
    });
    expect(
      parsePing(
        "64 bytes from ::1: icmp_seq=1 ttl=64 time=0.1 ms\n64 bytes from ::1: icmp_seq=2 ttl=64 time=0.3 ms\n",
        "::1",
      ),
    ).to.deep.equal({ sent: 3, rttMs: 0.2, minRttMs: 0.1 });
  });

  it("inSubnet: an address against the flows' subnets, IPv4 and IPv6, never across families", () => {
    expect(inSubnet("198.19.9.10", "198.19.9.0/24")).to.equal(true);
    expect(inSubnet("198.19.10.10", "198.19.9.0/24")).to.equal(false);
    expect(inSubnet("2001:db8:1:ff::7", "2001:db8:1::/48")).to.equal(true);
    expect(inSubnet("2001:db8:2::7", "2001:db8:1::/48")).to.equal(false);
    expect(inSubnet("::ffff:198.19.9.10", "198.19.9.0/24")).to.equal(false);
    expect(inSubnet("198.19.9.10", "unknown")).to.equal(false);
  });

  it("parseIp: one canonical spelling per address (RFC 5952), the same bytes whatever the spelling", () => {
    for (const [given, text] of [
      ["2001:DB8:0::1", "2001:db8::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:0db8::0001", "2001:db8::1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["::ffff:169.254.169.254", "::ffff:a9fe:a9fe"],
      ["::", "::"],
      ["198.19.9.10", "198.19.9.10"],
    ])
      expect(parseIp(given)?.text, given).to.equal(text);
    for (const bad of ["example.com", "198.19.9.010", "2001:db8::1%lo", "1:2:3:4:5:6:7:8:9", ""])
      expect(parseIp(bad), bad).to.equal(undefined);
    const groups = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 8,
      maxLength: 8,
    });
    // Any eight groups (zero runs made likely): the text is the WHATWG URL's serialisation (also RFC 5952), a fixpoint, and gives back the bytes.
    fc.assert(
      fc.property(groups, fc.boolean(), (g, upper) => {
        const long = g.map((x) => x.toString(16).padStart(4, "0")).join(":");
        const p = parseIp(upper ? long.toUpperCase() : long)!;
        expect(p.bytes).to.deep.equal(Uint8Array.from(g.flatMap((x) => [x >> 8, x & 0xff])));
        expect(p.text).to.equal(new URL(`http://[${long}]/`).hostname.slice(1, -1));
        expect(parseIp(p.text)!.text).to.equal(p.text);
      }),
      { numRuns: 500 },
    );
  });
});

describe("probe: the wire codec and the yard's signature", () => {
  const domain = marketDomain(31337n, "0x" + "11".repeat(20));
  const operator = Wallet.createRandom();

  async function signed(): Promise<SignedProbeResult> {
    const r = {
      leaseId: 7n,
      target: "198.19.9.10",
      at: 1_790_000_000_000n,
      hops: [
        { ttl: 1, address: "198.18.1.2", rttMs: 0.267 },
        { ttl: 2 },
        { ttl: 3, address: "198.19.9.10", rttMs: 2.646 },
      ],
      reached: true,
      rttMs: 2.5,
      packets: 19,
      elapsedMs: 812,
      yard: operator.address,
      nonce: "0x" + "5a".repeat(16),
      seq: 3n,
    };
    return { ...r, signature: await operator.signTypedData(domain, PROBE_REPORT_TYPES, probeReportValue(r)) };
  }

  it("an answer round-trips and its signer is the operator; any changed figure changes the signer", async () => {
    const r = await signed();
    const back = decodeProbeFrame(encodeProbeFrame({ type: "answer", ...r }));
    expect(back).to.deep.equal({ type: "answer", ...r });
    expect(probeReportSigner(r, domain)).to.equal(operator.address);
    for (const forged of [
      { ...r, rttMs: 1 },
      { ...r, target: "198.19.9.11" },
      { ...r, at: r.at + 1n },
      { ...r, leaseId: 8n },
      { ...r, hops: r.hops.slice(1) },
      { ...r, packets: 3 },
    ])
      expect(probeReportSigner(forged, domain)).to.not.equal(operator.address);
  });

  it("fuzz: random and mutated frames decode to a message or a ProbeError, nothing else", async () => {
    const valid = [
      encodeProbeFrame({ type: "answer", ...(await signed()) }),
      encodeProbeFrame({
        type: "request",
        access: { leaseId: 7n, expires: 1n, signature: "0x" + "ab".repeat(65) },
        target: "198.19.9.10",
        maxHops: 8,
        nonce: "0x0102",
      }),
      encodeProbeFrame({ type: "error", code: ProbeErrorCode.BUSY, message: "wait", retryAfterMs: 100 }),
    ];
    const mutated = fc
      .tuple(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      )
      .map(([f, edits]) => {
        const g = Uint8Array.from(f);
        for (const [i, v] of edits) g[i % g.length] = v;
        return g;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated), (frame) => {
        try {
          const m = decodeProbeFrame(frame);
          expect(["request", "answer", "error"]).to.include(m.type);
        } catch (e) {
          expect(e).to.be.instanceOf(ProbeError);
        }
      }),
      { numRuns: 20_000, seed: 17 },
    );
  });

  it("refuses malformed frames with BAD_FRAME", async () => {
    const r = await signed();
    const bad = (frame: Uint8Array): ProbeErrorCode | undefined => {
      try {
        decodeProbeFrame(frame);
        return undefined;
      } catch (e) {
        expect(e).to.be.instanceOf(ProbeError);
        return (e as ProbeError).probeCode;
      }
    };
    const sig = new Uint8Array(65);
    const enc = (e: Parameters<typeof ProbeEnvelope.encode>[0]): Uint8Array => ProbeEnvelope.encode(e);
    const answer = ProbeEnvelope.decode(encodeProbeFrame({ type: "answer", ...r })).answer!;
    for (const frame of [
      Uint8Array.of(0xff, 0xff, 0xff),
      new Uint8Array(9000),
      enc({}),
      enc({ request: { target: "198.19.9.10", maxHops: 0, nonce: new Uint8Array() } }),
      enc({
        request: {
          access: { leaseId: 0n, expires: 1n, signature: sig },
          target: "198.19.9.10",
          maxHops: 0,
          nonce: new Uint8Array(),
        },
      }),
      enc({
        request: {
          access: { leaseId: 1n, expires: 1n, signature: sig.subarray(1) },
          target: "x",
          maxHops: 0,
          nonce: new Uint8Array(),
        },
      }),
      enc({
        request: {
          access: { leaseId: 1n, expires: 1n, signature: sig },
          target: "9".repeat(100),
          maxHops: 0,
          nonce: new Uint8Array(),
        },
      }),
      enc({ answer: { ...answer, target: "not an address" } }),
      enc({ answer: { ...answer, yard: new Uint8Array(3) } }),
      enc({ answer: { ...answer, hops: [...answer.hops].reverse() } }),
      enc({ answer: { ...answer, hops: Array.from({ length: 65 }, (_, i) => ({ ttl: i + 1, address: "" })) } }),
      enc({ answer: { ...answer, hops: [{ ttl: 1, address: "router.example" }] } }),
    ])
      expect(bad(frame)).to.equal(ProbeErrorCode.BAD_FRAME);
  });
});
