/**
 * Candidate domains learned from clients (icon-agent/learn.ts) against a real DNS server: dnsmasq on loopback
 * serving the clients' PTR names. What is learned, what is not (the owner's own domain, idle subnets), and the
 * bounds an untrusted reverse zone cannot push past: lookups per round and per subnet, domains kept, expiry.
 */
import { expect } from "chai";
import { createResolver, type DnsResolver } from "../../../protocol/discovery/dns.ts";
import { DomainLearner } from "../../../icon-agent/learn.ts";
import { freeUdpPort, startDnsmasq, type Dnsmasq } from "../../../scripts/lib/dnsmasq.ts";

const ptr = (ip: string, name: string) => `${ip.split(".").reverse().join(".")}.in-addr.arpa. 60 IN PTR ${name}.`;
const flow = (subnet: string, client: string, rate = 10) => ({ subnet, client, rate });

describe("DomainLearner (dnsmasq on loopback)", function () {
  this.timeout(30_000);
  let dns: Dnsmasq;
  let resolver: DnsResolver;
  /** The real resolver, counting the lookups made through it. */
  let lookups: string[];
  let counting: Pick<DnsResolver, "clientDomains">;

  before(async () => {
    dns = await startDnsmasq({
      records: [
        ptr("127.30.1.5", "host-5.a.isp.test"),
        ptr("127.30.2.5", "host-5.b.isp.test"),
        ptr("127.30.3.5", "host-5.cloud.icon.test"),
        ...Array.from({ length: 10 }, (_, i) => ptr(`127.31.${i}.5`, `h.z${i}.far.test`)),
      ],
    });
    resolver = createResolver({ servers: [dns.server], timeoutMs: 2000 });
  });
  beforeEach(() => {
    lookups = [];
    counting = { clientDomains: (a, o) => (lookups.push(a), resolver.clientDomains(a, o)) };
  });
  after(async () => {
    await dns?.stop();
  });

  it("learns the domains busy subnets' clients point into, once each; not the owner's, not from idle subnets", async () => {
    const learner = new DomainLearner(counting, { own: ["cloud.icon.test", "icon.test"] });
    const flows = [
      flow("127.30.1.0/24", "127.30.1.5"),
      flow("127.30.2.0/24", "127.30.2.5"),
      flow("127.30.3.0/24", "127.30.3.5"),
      flow("127.30.9.0/24", "127.30.9.5", 0.01), // idle: not looked up
      { subnet: "127.30.8.0/24", rate: 10 }, // no client address: nothing to look up
    ];
    const fresh = await learner.learn(flows, 0.05);
    expect(fresh).to.deep.equal([
      { domain: "a.isp.test", subnet: "127.30.1.0/24" },
      { domain: "isp.test", subnet: "127.30.1.0/24" },
      { domain: "b.isp.test", subnet: "127.30.2.0/24" },
    ]);
    expect(learner.domains()).to.deep.equal(["a.isp.test", "isp.test", "b.isp.test"]);
    expect(lookups.sort()).to.deep.equal(["127.30.1.5", "127.30.2.5", "127.30.3.5"]);
    // The next round, within the lookup interval: no lookups, nothing new.
    expect(await learner.learn(flows, 0.05)).to.deep.equal([]);
    expect(lookups).to.have.length(3);
  });

  it("stays within its bounds: lookups per round, domains kept, and drops a domain no client pointed to lately", async () => {
    const learner = new DomainLearner(counting, {
      maxDomains: 4,
      lookupsPerRound: 3,
      ttlMs: 60_000,
      lookupEveryMs: 10_000,
    });
    const flows = Array.from({ length: 10 }, (_, i) => flow(`127.31.${i}.0/24`, `127.31.${i}.5`));
    await learner.learn(flows, 0, undefined, 0);
    expect(lookups).to.have.length(3);
    await learner.learn(flows, 0, undefined, 1_000);
    await learner.learn(flows, 0, undefined, 2_000);
    await learner.learn(flows, 0, undefined, 3_000);
    expect(lookups).to.have.length(10); // 3 + 3 + 3 + 1: each subnet once
    // Every client points to zN.far.test and far.test: far.test and the first three zN fill the four places.
    expect(learner.domains()).to.have.length(4);
    expect(learner.domains()).to.include("far.test");
    // Only subnet 0 keeps pointing (looked up again once due): the rest expire after the TTL.
    const first = learner.domains().find((d) => d !== "far.test")!;
    const source = learner.source(first)!;
    const keep = flows.filter((f) => f.subnet === source);
    for (let t = 20_000; t <= 80_000; t += 20_000) await learner.learn(keep, 0, undefined, t);
    expect(learner.domains().sort()).to.deep.equal([first, "far.test"].sort());
  });

  it("reports a DNS server that does not answer and looks that subnet up again only when it is due", async () => {
    const dead = createResolver({ servers: [`127.0.0.1:${await freeUdpPort()}`], timeoutMs: 300, tries: 1 });
    const learner = new DomainLearner(dead, { lookupEveryMs: 10_000 });
    const errors: string[] = [];
    const flows = [flow("127.30.1.0/24", "127.30.1.5")];
    expect(
      await learner.learn(flows, 0, (s, e) => errors.push(`${s}: ${(e as { code?: string }).code}`), 0),
    ).to.deep.equal([]);
    expect(errors).to.deep.equal(["127.30.1.0/24: DNS_UNREACHABLE"]);
    await learner.learn(flows, 0, (s) => errors.push(s), 5_000);
    expect(errors).to.have.length(1);
    await learner.learn(flows, 0, (s) => errors.push(s), 10_000);
    expect(errors).to.have.length(2);
    expect(learner.domains()).to.deep.equal([]);
  });
});
