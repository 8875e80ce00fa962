/**
 * The ICON's status report (icon-agent/status-report.ts): whatever the agent observed and decided, the report it
 * pushes is one the yard accepts (protocol/yard/icon-status.ts's parser, the yard's own check) and within the size
 * the gateway reads (16 KiB) — property-tested over any subnets, latencies (NaN and Infinity included) and decision
 * texts; a move's "after" is the first latency measured at the new place; the push goes through the agent's real
 * gateway client to an HTTP server on loopback, one at a time.
 */
import { expect } from "chai";
import fc from "fast-check";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { iconStatusLimits, parseIconStatusReport } from "../../../protocol/index.ts";
import type { SubnetView } from "../../../icon-agent/decision.ts";
import { GatewayClient } from "../../../icon-agent/gateway.ts";
import { StatusReporter } from "../../../icon-agent/status-report.ts";

const view = (subnet: string, rate: number, at: Record<string, number>): SubnetView => ({
  subnet,
  rate,
  latencyMs: at,
});

describe("ICON status report (what the agent pushes to its yard)", function () {
  this.timeout(60_000);

  it("is always a report the yard accepts, within 16 KiB, whatever was observed and decided", () => {
    const latency = fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constant(NaN), fc.constant(Infinity));
    const subnets = fc.array(
      fc.record({
        subnet: fc.string({ maxLength: 300 }),
        rate: fc.double({ min: 0, max: 1e9, noNaN: true }),
        here: latency,
        there: latency,
      }),
      { maxLength: 80 },
    );
    const decisions = fc.array(
      fc.record({ text: fc.string({ maxLength: 500 }), u: latency, uBest: latency, move: fc.boolean() }),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(subnets, decisions, fc.string({ maxLength: 300 }), (ss, ds, name) => {
        const r = new StatusReporter(() => ({ gateway: undefined, instance: 2, policyVersion: 3 }));
        const own = ss.map((s) => view(s.subnet, s.rate, { A: s.here, B: s.there }));
        for (const d of ds) r.decided(d.text, d.u, d.uBest, own, "A", d.move);
        const report = r.report({ name, account: 7n, subnets: own }, "B");
        const parsed = parseIconStatusReport(JSON.parse(JSON.stringify(report)));
        expect(parsed, typeof parsed === "string" ? parsed : "").to.be.an("object");
        expect(Buffer.byteLength(JSON.stringify(report))).to.be.at.most(iconStatusLimits.maxBytes);
      }),
      { numRuns: 200 },
    );
  });

  it("fills a move's latency after with the first measured at the new place, and keeps the newest 16 decisions", () => {
    const r = new StatusReporter(() => ({ gateway: undefined, instance: 1, policyVersion: 1 }));
    r.decided("stay", 0.4, 0.41, [view("198.18.4.0/24", 5, { A: 30 })], "A", false);
    r.decided("migrate to B", 0.4, 0.7, [view("198.18.4.0/24", 5, { A: 31.5, B: 9 })], "A", true);
    // Still at A: nothing measured after the move yet.
    let rep = r.report({ name: "o", account: 1n, subnets: [view("198.18.4.0/24", 5, { A: 31.5 })] }, "A");
    expect(rep.decisions[1]!.latency).to.deep.equal([{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: null }]);
    expect(rep.decisions[0]!.latency).to.deep.equal([]);
    rep = r.report({ name: "o", account: 1n, subnets: [view("198.18.4.0/24", 5, { B: 8.25 })] }, "B");
    expect(rep.decisions[1]!.latency[0]).to.deep.equal({ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: 8.25 });
    expect(rep.subnets).to.deep.equal([{ subnet: "198.18.4.0/24", ratePerS: 5, latencyMs: 8.25 }]);
    // Later measurements do not overwrite the first one after the move.
    rep = r.report({ name: "o", account: 1n, subnets: [view("198.18.4.0/24", 5, { B: 20 })] }, "B");
    expect(rep.decisions[1]!.latency[0]!.afterMs).to.equal(8.25);
    for (let i = 0; i < 20; i++) r.decided(`stay ${i}`, 0.4, 0.4, [], "B", false);
    rep = r.report({ name: "o", account: 1n, subnets: [] }, "B");
    expect(rep.decisions.map((d) => d.text)).to.deep.equal(Array.from({ length: 16 }, (_, i) => `stay ${i + 4}`));
  });

  it("pushes through the gateway client to POST /status, one at a time, and survives a refusal", async () => {
    const got: unknown[] = [];
    let answer = 200;
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        got.push({ method: req.method, url: req.url, body: JSON.parse(body) as unknown });
        res
          .writeHead(answer, { "content-type": "application/json" })
          .end(answer === 200 ? '{"kept":true}' : '{"error":"over 1 status report per second"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const gateway = GatewayClient.fromUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const r = new StatusReporter(() => ({ gateway, instance: 1, policyVersion: 4 }));
      const status = { name: "o", account: 3n, subnets: [view("198.18.4.0/24", 2, { A: 12 })] };
      r.period(status, "A");
      r.period(status, "A"); // while the first is under way: not sent
      const deadline = Date.now() + 10_000;
      while (got.length < 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 200));
      expect(got).to.have.length(1);
      const first = got[0] as { method: string; url: string; body: { policyVersion: number; account: string } };
      expect([first.method, first.url, first.body.policyVersion, first.body.account]).to.deep.equal([
        "POST",
        "/status",
        4,
        "3",
      ]);
      answer = 429;
      r.period(status, "A");
      while (got.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 200));
      answer = 200;
      r.period(status, "A"); // the refusal was dropped: the next period pushes again
      while (got.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      expect(got).to.have.length(3);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("a migration's successor carries its predecessor's pending moves on and fills their after at its own place", () => {
    const old = new StatusReporter(() => ({ gateway: undefined, instance: 1, policyVersion: 1 }));
    old.decided("stay", 0.4, 0.41, [view("198.18.4.0/24", 5, { A: 30 })], "A", false);
    old.decided("migrate to B", 0.4, 0.7, [view("198.18.4.0/24", 5, { A: 31.5, B: 9 })], "A", true);
    // Only the move whose after is still to measure goes (a stay has none), as JSON in the sealed state.
    const carried = JSON.parse(JSON.stringify(old.carry())) as ReturnType<StatusReporter["carry"]>;
    expect(carried.map((d) => d.text)).to.deep.equal(["migrate to B"]);
    const next = new StatusReporter(() => ({ gateway: undefined, instance: 2, policyVersion: 1 }));
    next.restore(carried);
    const rep = next.report({ name: "o", account: 1n, subnets: [view("198.18.4.0/24", 5, { B: 8.5 })] }, "B");
    expect(rep.instance).to.equal(2);
    expect(rep.decisions.map((d) => [d.text, d.latency])).to.deep.equal([
      ["migrate to B", [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: 8.5 }]],
    ]);
    // Measured once: the successor's later latency does not rewrite it, and a carried move is not carried again.
    const later = next.report({ name: "o", account: 1n, subnets: [view("198.18.4.0/24", 5, { B: 20 })] }, "B");
    expect(later.decisions[0]!.latency[0]!.afterMs).to.equal(8.5);
    expect(next.carry()).to.deep.equal([]);
  });
});
