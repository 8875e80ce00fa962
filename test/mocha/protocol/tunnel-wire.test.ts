/**
 * The /icon/tunnel/1.0.0 wire codec (protocol/overlay/tunnel-wire.ts), without a network: every valid header and
 * answer survives encode → length prefix → decode unchanged, invalid headers are refused with a sentence, error
 * sentences are clipped on a character boundary, and datagrams survive framing split at any byte.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Uint8ArrayList } from "uint8arraylist";
import {
  DatagramDeframer,
  TunnelError,
  decodeTunnelAnswer,
  decodeTunnelHeader,
  encodeTunnelAnswer,
  encodeTunnelHeader,
  frameDatagram,
  isServiceKey,
  readTunnelFrameLength,
  tunnelLimits,
  type TunnelHeader,
} from "../../../protocol/index.ts";

/** The body of one frame: its length prefix read and checked against the frame's size. */
function body(frame: Uint8Array): Uint8Array {
  const read = readTunnelFrameLength(new Uint8ArrayList(frame));
  expect(read, "a complete length prefix").to.not.equal(undefined);
  const [length, prefix] = read!;
  expect(prefix + length).to.equal(frame.byteLength);
  return frame.subarray(prefix);
}

const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const serviceKey = fc.tuple(label, label, label, label).map((l) => l.join("."));
const leaseId = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
const header: fc.Arbitrary<TunnelHeader> = fc
  .record(
    {
      service: serviceKey,
      instanceId: leaseId,
      port: fc.integer({ min: 1, max: 65535 }),
      client: fc.oneof(fc.ipV4(), fc.ipV6()),
      source: fc.option(fc.tuple(serviceKey, leaseId), { nil: undefined }),
      transport: fc.option(fc.constant("udp" as const), { nil: undefined }),
      byLeaseId: fc.boolean(),
    },
    { requiredKeys: ["instanceId", "port", "client", "byLeaseId"] },
  )
  .map(({ service, instanceId, port, client, source, transport, byLeaseId }) => {
    const h: TunnelHeader = { instanceId, port, client };
    // A source service comes only with a target service (and with its lease).
    if (!byLeaseId && service !== undefined) {
      h.service = service;
      if (source) [h.from, h.fromInstance] = source;
    }
    if (transport) h.transport = transport;
    return h;
  });

describe("tunnel wire codec (protocol/overlay/tunnel-wire.ts)", () => {
  it("round-trips every valid header through its length-prefixed frame", () => {
    fc.assert(
      fc.property(header, (h) => {
        expect(decodeTunnelHeader(body(encodeTunnelHeader(h)))).to.deep.equal(h);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses headers that are not canonical, naming what is wrong", () => {
    const ok: TunnelHeader = { service: "shop.r1.web.prod", instanceId: 7n, port: 80, client: "192.0.2.1" };
    const bad: [TunnelHeader, RegExp][] = [
      [{ ...ok, service: "Shop.r1.web.prod" }, /service is not a service key/],
      [{ ...ok, service: "shop.r1.web" }, /service is not a service key/],
      [{ ...ok, port: 0 }, /port is not an integer/],
      [{ ...ok, client: "not-an-ip" }, /client is not an IP address/],
      [{ ...ok, from: "a.b.c.d" }, /from\) and its lease \(fromInstance\) together/],
      [{ instanceId: 7n, port: 80, client: "192.0.2.1", from: "a.b.c.d", fromInstance: 1n }, /no target service/],
    ];
    for (const [h, why] of bad) {
      expect(
        () => encodeTunnelHeader(h),
        JSON.stringify(h, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
      )
        .to.throw(TunnelError, why)
        .with.property("code", "TUNNEL_BAD_HEADER");
    }
    const unknownField = new TextEncoder().encode(
      JSON.stringify({ v: 1, instanceId: "7", port: 80, client: "::1", x: 1 }),
    );
    expect(() => decodeTunnelHeader(unknownField)).to.throw(TunnelError, /unknown field "x"/);
    expect(() => decodeTunnelHeader(new TextEncoder().encode("{"))).to.throw(TunnelError, /not JSON/);
  });

  it("isServiceKey accepts exactly four lower-case DNS labels", () => {
    expect(isServiceKey("shop.r1.web.prod")).to.equal(true);
    for (const s of ["shop.r1.web", "shop.r1.web.prod.x", "Shop.r1.web.prod", "-a.b.c.d", "a..c.d", "a.b.c.d\n"])
      expect(isServiceKey(s), s).to.equal(false);
  });

  it("round-trips answers; a long error sentence is clipped to maxErrorBytes on a character boundary", () => {
    expect(decodeTunnelAnswer(body(encodeTunnelAnswer({ ok: true })))).to.deep.equal({ ok: true });
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 600 }), (error) => {
        const back = decodeTunnelAnswer(body(encodeTunnelAnswer({ ok: false, error })));
        if (back.ok) expect.fail("a refusal came back as ok");
        expect(Buffer.byteLength(back.error)).to.be.at.most(tunnelLimits.maxErrorBytes);
        expect(error.startsWith(back.error)).to.equal(true);
        expect(back.error.isWellFormed()).to.equal(true);
      }),
      { numRuns: 200 },
    );
    expect(() => decodeTunnelAnswer(new TextEncoder().encode('{"ok":true,"x":1}'))).to.throw(TunnelError, /neither/);
  });

  it("reads a length prefix only once it is complete, and one longer than any frame as too long", () => {
    expect(readTunnelFrameLength(new Uint8ArrayList())).to.equal(undefined);
    expect(readTunnelFrameLength(new Uint8ArrayList(Uint8Array.of(0x80)))).to.equal(undefined);
    expect(readTunnelFrameLength(new Uint8ArrayList(Uint8Array.of(0x80, 0x20)))).to.deep.equal([4096, 2]);
    const [length] = readTunnelFrameLength(new Uint8ArrayList(Uint8Array.of(0xff, 0xff, 0xff, 0x01)))!;
    expect(length).to.be.above(tunnelLimits.maxFrameBytes);
  });

  it("datagrams survive framing, whatever the chunks the stream delivers them in", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (datagrams, cuts) => {
          const wire = Buffer.concat(datagrams.map((d) => frameDatagram(d)));
          const out: Buffer[] = [];
          const deframer = new DatagramDeframer();
          for (let at = 0, i = 0; at < wire.length; i++) {
            const next = Math.min(wire.length, at + cuts[i % cuts.length]!);
            deframer.push(wire.subarray(at, next), (d) => out.push(Buffer.from(d)));
            at = next;
          }
          expect(out.map((d) => d.toString("hex"))).to.deep.equal(datagrams.map((d) => Buffer.from(d).toString("hex")));
        },
      ),
      { numRuns: 200 },
    );
  });
});
