/** Flow observation per client subnet (redirects apart) and the routing policies, with k-pruning in Overlay.pick. */
import { expect } from "chai";
import fc from "fast-check";
import type { Libp2p } from "@libp2p/interface";
import { decodeOverlayFrame, encodeOverlayFrame, type OverlayMessage } from "../../../protocol/index.ts";
import { OverlayEnvelope } from "../../../protocol/schema/generated/overlay.js";
import { silentLogger } from "../../../protocol/log.ts";
import { FlowObserver, subnetOf } from "../../../yard-node/overlay/flows.ts";
import { Overlay } from "../../../yard-node/overlay/overlay.ts";
import { Closest, Pinned, PolicyRegistry, RoundRobin, prune } from "../../../yard-node/overlay/policies.ts";
import type { Instance, RoutingPolicy } from "../../../yard-node/overlay/types.ts";

/** |actual − expected| ≤ tol (chai's closeTo is taken over by the bigint matchers in the whole suite). */
function near(actual: number, expected: number, tol: number): void {
  expect(Math.abs(actual - expected), `${actual} ≈ ${expected} ± ${tol}`).to.be.at.most(tol);
}

const inst = (id: number, latencyMs?: number, updatedAt = 0): Instance => ({
  service: "shop.prod.cart.default",
  instanceId: BigInt(id),
  yard: `yard-${id}`,
  addrs: [],
  ports: [8080],
  latencyMs,
  updatedAt,
});

describe("telemetry frames", () => {
  it("carry each subnet's latest client address; one that is not a plain address is dropped, the rest kept", () => {
    const m: OverlayMessage = {
      type: "telemetryReply",
      atMs: 5n,
      flows: [
        { subnet: "10.0.1.0/24", rate: 2.5, latencyMs: 12.5, rttMs: 31.25, requests: 9n, client: "10.0.1.7" },
        { subnet: "2001:db8:1::/48", rate: 1, latencyMs: NaN, rttMs: NaN, requests: 1n, client: "" },
      ],
    };
    expect(decodeOverlayFrame(encodeOverlayFrame(m))).to.deep.equal(m);
    const odd = OverlayEnvelope.encode({
      telemetryReply: {
        atMs: 5n,
        flows: ["host-7 .example", "fe80::1%eth0", "1.2.3", "10.0.1.9"].map((client) => ({
          subnet: "10.0.1.0/24",
          rateMilli: 1000,
          latencyUs: 1,
          rttUs: 0,
          requests: 1n,
          client,
        })),
      },
    });
    const decoded = decodeOverlayFrame(odd);
    expect(decoded.type === "telemetryReply" && decoded.flows.map((f) => [f.rate, f.client])).to.deep.equal([
      [1, ""],
      [1, ""],
      [1, ""],
      [1, "10.0.1.9"],
    ]);
  });
});

describe("subnetOf", () => {
  it("masks IPv4 to /24 and IPv6 to /48, IPv4-mapped IPv6 as IPv4", () => {
    expect(subnetOf("10.1.2.3")).to.equal("10.1.2.0/24");
    expect(subnetOf("::ffff:192.168.7.9")).to.equal("192.168.7.0/24");
    expect(subnetOf("2001:db8:abcd:12::1")).to.equal("2001:db8:abcd::/48");
    expect(subnetOf("10.1.2.3", 16)).to.equal("10.1.0.0/16");
    expect(subnetOf("not an ip")).to.equal("unknown");
  });
  it("puts two addresses in one subnet exactly when their first 24 bits agree", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), (a, b) => {
        const same = a.split(".").slice(0, 3).join(".") === b.split(".").slice(0, 3).join(".");
        return (subnetOf(a) === subnetOf(b)) === same;
      }),
    );
  });
});

describe("FlowObserver", () => {
  it("saved and loaded (a yard restart), goes on exactly as the original; damaged entries are skipped", () => {
    const f = new FlowObserver({ halfLifeS: 2 });
    for (let t = 0; t < 5000; t += 50) {
      f.record("10.0.1.7", 10, t);
      if (t % 200 === 0) f.record("10.0.2.9", 80, t);
      if (t % 1000 === 0) f.redirect("10.0.3.1", t);
    }
    f.recordRtt("10.0.1.7", 4, 5000);
    const state = JSON.parse(JSON.stringify(f.save())) as ReturnType<FlowObserver["save"]>;
    const g = new FlowObserver({ halfLifeS: 2 });
    g.load(state);
    // Both decay and record alike from here (the restart took 3 s).
    for (const o of [f, g]) o.record("10.0.2.9", 20, 8000);
    expect(g.snapshot(9000)).to.deep.equal(f.snapshot(9000));
    expect(g.redirects(9000)).to.deep.equal(f.redirects(9000));
    const damaged = new FlowObserver();
    damaged.load({
      subnets: [
        { ...state.subnets[0]!, count: Number.NaN },
        { ...state.subnets[1]!, requests: -1 },
        { ...state.subnets[0]!, subnet: "10.9.9.0/24" },
      ],
      redirects: [{ ...state.redirects[0]!, at: "soon" as unknown as number }],
    });
    expect(damaged.snapshot(5000).map((x) => x.subnet)).to.deep.equal(["10.9.9.0/24"]);
    expect(damaged.redirects(5000)).to.deep.equal([]);
  });

  it("rate converges to the request rate and latency to the request-weighted mean", () => {
    const f = new FlowObserver({ halfLifeS: 2 });
    let t = 0;
    // 20 requests/s from A for 30 s at 10 ms; 5/s from B at 80 ms.
    for (let i = 0; i < 600; i++) {
      t += 50;
      f.record("10.0.1.7", 10, t);
      if (i % 4 === 0) f.record("10.0.2.9", 80, t);
    }
    const [a, b] = f.snapshot(t);
    expect(a!.subnet).to.equal("10.0.1.0/24");
    near(a!.rate, 20, 1);
    near(a!.latencyMs, 10, 1e-9);
    near(b!.rate, 5, 0.5);
    near(b!.latencyMs, 80, 1e-9);
    expect(a!.requests).to.equal(600);
    expect([a!.client, b!.client]).to.deep.equal(["10.0.1.7", "10.0.2.9"]);
    f.record("10.0.1.200", 10, t + 1);
    expect(f.snapshot(t + 1)[0]!.client).to.equal("10.0.1.200"); // the subnet's most recent client
  });
  it("a subnet that goes quiet decays: after one half-life its rate halves", () => {
    const f = new FlowObserver({ halfLifeS: 4 });
    for (let t = 0; t < 60_000; t += 100) f.record("10.0.0.1", 5, t);
    const r0 = f.snapshot(60_000)[0]!.rate;
    const r1 = f.snapshot(64_000)[0]!.rate;
    near(r1 / r0, 0.5, 0.01);
    f.prune(r1 + 1, 64_000);
    expect(f.snapshot(64_000)).to.have.length(0);
  });
  it("recent latency outweighs old latency", () => {
    const f = new FlowObserver({ halfLifeS: 1 });
    for (let t = 0; t < 10_000; t += 100) f.record("10.0.0.1", 100, t);
    for (let t = 10_000; t < 20_000; t += 100) f.record("10.0.0.1", 10, t);
    expect(f.snapshot(20_000)[0]!.latencyMs).to.be.lessThan(11);
  });
  it("keeps at most maxSubnets, dropping the least recently active", () => {
    const f = new FlowObserver({ maxSubnets: 3 });
    ["10.0.1.1", "10.0.2.1", "10.0.3.1", "10.0.1.2", "10.0.4.1"].forEach((ip, i) => f.record(ip, 1, i));
    expect(
      f
        .snapshot(10)
        .map((s) => s.subnet)
        .sort(),
    ).to.deep.equal(["10.0.1.0/24", "10.0.3.0/24", "10.0.4.0/24"]);
  });
  it("counts redirects apart: they enter neither λ nor the latency of the subnet", () => {
    const f = new FlowObserver({ halfLifeS: 2 });
    let t = 0;
    // 10 requests/s served at 40 ms from A; 30 redirects/s of A's new connections and 5/s of B's (B is served
    // elsewhere only).
    for (let i = 0; i < 600; i++) {
      t += 100 / 3;
      if (i % 3 === 0) f.record("10.0.1.7", 40, t);
      f.redirect("10.0.1.8", t);
      if (i % 6 === 0) f.redirect("10.0.2.9", t);
    }
    const served = f.snapshot(t);
    expect(served.map((s) => s.subnet)).to.deep.equal(["10.0.1.0/24"]);
    near(served[0]!.rate, 10, 0.6);
    near(served[0]!.latencyMs, 40, 1e-9);
    expect(served[0]!.requests).to.equal(200);
    const redirected = f.redirects(t);
    expect(redirected.map((r) => [r.subnet, r.redirects])).to.deep.equal([
      ["10.0.1.0/24", 600],
      ["10.0.2.0/24", 100],
    ]);
    near(redirected[0]!.rate, 30, 1.5);
    near(redirected[1]!.rate, 5, 0.5);
    f.prune(6, t + 1);
    expect(f.redirects(t + 1).map((r) => r.subnet)).to.deep.equal(["10.0.1.0/24"]);
  });
});

describe("routing policies", () => {
  it("round-robin spreads evenly over the instances", () => {
    const rr = new RoundRobin();
    const xs = [inst(3), inst(1), inst(2)];
    const counts = new Map<bigint, number>();
    for (let i = 0; i < 300; i++) {
      const p = rr.pick(xs)!;
      counts.set(p.instanceId, (counts.get(p.instanceId) ?? 0) + 1);
    }
    expect([...counts.values()]).to.deep.equal([100, 100, 100]);
  });
  it("closest picks the lowest measured latency, unmeasured last", () => {
    const c = new Closest();
    expect(c.pick([inst(1, 30), inst(2, 5), inst(3)])!.instanceId).to.equal(2n);
    expect(c.pick([inst(1), inst(2, 50)])!.instanceId).to.equal(2n);
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 }), (lats) => {
        const picked = c.pick(lats.map((l, i) => inst(i + 1, l)))!;
        return picked.latencyMs === Math.min(...lats);
      }),
    );
  });
  it("instance pins exactly the named instance, or nothing", () => {
    const p = new Pinned();
    expect(p.pick([inst(1), inst(2)], { instanceId: 2n })!.instanceId).to.equal(2n);
    expect(p.pick([inst(1)], { instanceId: 9n })).to.equal(undefined);
  });
  it("k-pruning keeps a pinned instance however stale, among more than k instances", () => {
    const p = new Pinned();
    // Instance 1 is the least recently confirmed of 12; k = 3.
    const xs = Array.from({ length: 12 }, (_, i) => inst(i + 1, undefined, (i + 1) * 10));
    const kept = prune(p, xs, 3, { instanceId: 1n });
    expect(kept.map((i) => i.instanceId)).to.deep.equal([1n, 12n, 11n]);
    expect(p.pick(kept, { instanceId: 1n })!.instanceId).to.equal(1n);
    // An instance that is not there is still nothing; without a pin the k freshest are kept.
    expect(p.pick(prune(p, xs, 3, { instanceId: 99n }), { instanceId: 99n })).to.equal(undefined);
    expect(prune(p, xs, 3).map((i) => i.instanceId)).to.deep.equal([12n, 11n, 10n]);
  });
  it("Overlay.pick finds a pinned <id>.none instance beyond the k kept for the service", async () => {
    // A node that knows no other yard: every instance is local.
    const node = { peerId: "yard-me", getMultiaddrs: () => [], getConnections: () => [] } as unknown as Libp2p;
    const service = "shop.prod.cart.default";
    // Ten running local instances, all confirmed now: the k = 2 kept are the first two.
    const local = Array.from({ length: 10 }, (_, i) => ({
      leaseId: BigInt(i + 1),
      service,
      ports: [8080],
      ip: `10.9.0.${i + 2}`,
    }));
    const overlay = new Overlay({
      node,
      log: silentLogger,
      authorize: () => Promise.reject(new Error("not used")),
      local: () => local,
      k: 2,
    });
    for (const id of [1n, 7n, 10n])
      expect((await overlay.pick(service, "none", { instanceId: id }))?.instanceId).to.equal(id);
    expect(await overlay.pick(service, "none", { instanceId: 11n })).to.equal(undefined);
    expect((await overlay.pick(service, "rr"))?.instanceId).to.be.oneOf([1n, 2n]);
  });
  it("takes a new policy without touching the rest: added to an Overlay's registry, Overlay.pick uses it by name", async () => {
    const first: RoutingPolicy = { name: "first", pick: (xs) => xs[0] };
    const reg = new PolicyRegistry();
    reg.add(first);
    expect(reg.names()).to.include.members(["rr", "closest", "none", "first"]);
    expect(reg.get("first")!.pick([inst(5), inst(6)], {})!.instanceId).to.equal(5n);

    const node = { peerId: "yard-me", getMultiaddrs: () => [], getConnections: () => [] } as unknown as Libp2p;
    const service = "shop.prod.cart.default";
    const local = [4, 9, 6].map((n) => ({ leaseId: BigInt(n), service, ports: [8080], ip: `10.9.0.${n}` }));
    const overlay = new Overlay({
      node,
      log: silentLogger,
      authorize: () => Promise.reject(new Error("not used")),
      local: () => local,
    });
    let unknown: Error | undefined;
    await overlay.pick(service, "highest").catch((e: Error) => (unknown = e));
    expect(unknown?.message).to.match(/no routing policy "highest" \(known: rr, closest, none\)/);
    const seen: number[] = [];
    overlay.policies.add({
      name: "highest",
      pick: (xs) => {
        seen.push(xs.length);
        return [...xs].sort((a, b) => (a.instanceId > b.instanceId ? -1 : 1))[0];
      },
      keep: (xs) => [...xs],
    });
    expect((await overlay.pick(service, "highest"))?.instanceId).to.equal(9n);
    expect(seen).to.deep.equal([3]);
  });
  it("k-pruning keeps the k closest for closest and the k freshest otherwise", () => {
    const xs = [inst(1, 40, 1), inst(2, 10, 5), inst(3, 20, 3), inst(4, 30, 9)];
    expect(prune(new Closest(), xs, 2).map((i) => i.instanceId)).to.deep.equal([2n, 3n]);
    expect(prune(new RoundRobin(), xs, 2).map((i) => i.instanceId)).to.deep.equal([4n, 2n]);
    expect(prune(new RoundRobin(), xs, 10)).to.have.length(4);
  });
});
