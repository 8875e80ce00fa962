/**
 * The yard's configuration file as an operator writes it: a valid config (the testbed's and the README's)
 * parses with its defaults and paths resolved against the config's folder; an invalid one is refused with one
 * line per problem that names the field path and says what to do; amounts resolve exactly against the token.
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ConfigError, parseGasPrice, resolveFees } from "../../../protocol/index.ts";
import { parseYardConfig, resolvePrices, type YardConfig, type YardConfigInput } from "../../../yard-node/config.ts";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";
import { yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";

const FILE = "/srv/icon/conf/edge-a.json";
const TOKEN = { symbol: "iUSD", decimals: 6 };

/** The testbed's yard config, for a market that lives in /srv/icon/market (nothing is started). */
function validInput(): YardConfigInput {
  const market = {
    dir: "/srv/icon/market",
    chain: { url: "http://127.0.0.1:8545" },
    deploymentFile: "/srv/icon/market/deployment.json",
  } as unknown as TestMarket;
  return structuredClone(yardConfig(market, "edge-a"));
}

/** A config as untyped JSON, to break it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** A deep copy of the valid input with `edit` applied. */
function invalid(edit: (c: Json) => void): unknown {
  const c = validInput() as Json;
  edit(c);
  return c;
}

/** The refusal's message, asserting it is a ConfigError that starts by naming the file. */
function refusal(raw: unknown, file = FILE): string {
  try {
    parseYardConfig(raw, file);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    expect((e as ConfigError).code).to.equal("BAD_CONFIG");
    const msg = (e as Error).message;
    expect(msg.split("\n")[0]).to.equal(`${file} is not a valid yard configuration:`);
    return msg;
  }
  return expect.fail("the config was accepted");
}

/** The message's problem lines as { path: explanation }. */
function problems(msg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of msg.split("\n").slice(1)) {
    const m = /^ {2}([^:]+): (.+)$/.exec(line);
    expect(m, `problem line "${line}" is not "  <field>: <explanation>"`).to.not.equal(null);
    out.set(m![1]!, m![2]!);
  }
  return out;
}

function withPricing(over: Partial<YardConfigInput["pricing"]>, listing?: Partial<YardConfigInput["listing"]>) {
  const c = validInput();
  c.pricing = { ...c.pricing, ...over };
  if (listing) c.listing = { ...c.listing, ...listing };
  return parseYardConfig(c, FILE);
}

function resolveError(c: YardConfig): string {
  try {
    resolvePrices(c, TOKEN);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  return expect.fail("the amounts were accepted");
}

describe("yard config", () => {
  describe("parseYardConfig: valid configs", () => {
    it("accepts the testbed's config and fills in the documented defaults", () => {
      const c = parseYardConfig(validInput(), FILE);
      expect(c.file).to.equal(FILE);
      expect(c.yardId).to.equal("edge-a");
      expect(c.dataDir).to.equal("/srv/icon/market/edge-a");
      expect(c.chain.deployment).to.equal("/srv/icon/market/deployment.json");
      expect(c.chain.confirmations).to.equal(0);
      expect(c.http.port).to.equal(0);
      expect(c.capacity).to.deep.equal({
        cpuMillis: 4000,
        memoryMiB: 4096,
        maxLeases: 100,
        pidsPerLease: 64,
        minCpuMillis: 10,
        minMemoryMiB: 16,
      });
      expect(c.lease).to.include({ quoteValidityS: 60, maxSlotS: 7 * 24 * 3600, minSlotS: 10, maxRestarts: 3 });
      expect(c.pricing.surcharge).to.deep.equal([]);
      expect(c.docker).to.deep.equal({ hostFirewall: true });
      expect(c.images.maxBytes).to.equal(512 << 20);
      expect(c.p2p).to.deep.equal({ mdns: false, bootstrap: [], dht: false, dhtPrivateAddresses: false });
      expect(c.ingress).to.deep.equal({
        tcpIdleS: 600,
        httpIdleS: 120,
        maxConnectionsPerClient: 1024,
        maxConnectionsPerPort: 4096,
        udpIdleS: 30,
        udpSessionsPerClient: 64,
        udpSessionsPerPort: 1024,
        udpSessions: 8192,
        rttSampleS: 5,
      });
      expect(c.publicNetns).to.equal(undefined);
      expect(() => parseYardConfig({ ...validInput(), publicNetns: "site-a" }, FILE)).to.throw(
        /publicNetns.*absolute path/,
      );
      expect(c.agentGateway).to.include({ enabled: true, port: 8547 });
      expect(c.agentGateway.rpcUrl).to.equal(undefined);
      expect(c.chain.rpcUrls).to.deep.equal([c.chain.rpcUrl]);
      const several = { ...validInput(), chain: { ...validInput().chain, rpcUrls: ["http://b:1", "http://c:2"] } };
      expect(parseYardConfig(several, FILE).chain.rpcUrls).to.deep.equal([c.chain.rpcUrl, "http://b:1", "http://c:2"]);
      const { rpcUrl: _one, ...onlyList } = several.chain;
      expect(parseYardConfig({ ...several, chain: onlyList }, FILE).chain).to.include({ rpcUrl: "http://b:1" });
      expect(c.agentGateway.limits).to.include({ requestsPerSecond: 20, burst: 40, forwardsPerLease: 32 });
      // The test bed lets /dial reach loopback (its yards all listen on 127.0.0.1); by default it may not.
      expect(c.agentGateway.dialLoopback).to.equal(true);
      const { agentGateway: _testbed, ...production } = validInput();
      expect(parseYardConfig(production, FILE).agentGateway.dialLoopback).to.equal(false);
      expect(c.agentGateway.limits).to.include({
        callGas: 10_000_000,
        upstreamConcurrent: 16,
        concurrentPerTenant: 32,
        dialsPerLease: 2,
        dials: 16,
        answerBytesInFlight: 64 * 2 ** 20,
      });
    });

    it("accepts the example config of yard-node/README.md", async () => {
      const readme = await readFile(path.join(projectRoot, "yard-node/README.md"), "utf8");
      const json = /```json\n([\s\S]*?)\n```/.exec(readme)?.[1];
      expect(json, "README has a ```json block").to.be.a("string");
      const c = parseYardConfig(JSON.parse(json!), "/etc/icon/yard.json");
      expect(c.dataDir).to.equal("/etc/icon/edge-a-data");
      expect(c.chain.deployment).to.equal("/etc/icon/deployments/chain-31337.json");
      expect(resolvePrices(c, TOKEN)).to.deep.equal({
        floorPerSecond: 10n,
        cpuPerCoreSecond: 100n,
        memoryPerGiBSecond: 40n,
        surcharge: [
          { aboveUtilization: 0.5, bps: 1000 },
          { aboveUtilization: 0.8, bps: 3000 },
        ],
        stake: 250_000_000n,
        relayFee: 1_000n,
        gasTokenPrice: 3_000_000_000n,
      });
      expect(resolveFees(c.chain.fees)).to.deep.equal({
        maxFeePerGas: 20_000_000_000n,
        maxPriorityFeePerGas: 1_000_000_000n,
        replaceAfterBlocks: 3,
        replaceAfterMs: 45_000,
      });
    });

    it("resolves relative dataDir and deployment against the config file's folder, not the working directory", () => {
      const raw = invalid((c) => {
        c.dataDir = "data";
        c.chain.deployment = "../deployments/chain-31337.json";
      });
      const c = parseYardConfig(raw, "/srv/icon/conf/yard.json");
      expect(c.dataDir).to.equal("/srv/icon/conf/data");
      expect(c.chain.deployment).to.equal("/srv/icon/deployments/chain-31337.json");
      // a relative config path is first made absolute against the working directory
      const rel = parseYardConfig(raw, path.join("some", "dir", "yard.json"));
      expect(rel.dataDir).to.equal(path.resolve("some", "dir", "data"));
      expect(rel.chain.deployment).to.equal(path.resolve("some", "deployments", "chain-31337.json"));
      // absolute paths stay as written
      const abs = parseYardConfig(
        invalid((c) => (c.dataDir = "/var/lib/icon")),
        "/srv/icon/conf/yard.json",
      );
      expect(abs.dataDir).to.equal("/var/lib/icon");
    });
  });

  describe("parseYardConfig: invalid configs name the field and the fix", () => {
    const cases: { name: string; edit: (c: Json) => void; expect: Record<string, RegExp> }[] = [
      {
        name: "unknown top-level field",
        edit: (c) => (c.pricingg = {}),
        expect: { "(top level)": /unknown field\(s\) pricingg; remove them or fix the spelling/ },
      },
      {
        name: "misspelt nested field (unknown + missing)",
        edit: (c) => {
          c.capacity.cpuMilis = c.capacity.cpuMillis;
          delete c.capacity.cpuMillis;
        },
        expect: {
          capacity: /unknown field\(s\) cpuMilis; remove/,
          "capacity.cpuMillis": /required \(number\) is missing; add it/,
        },
      },
      {
        name: "p2p: a bootstrap peer without its peer id, a misspelt switch",
        edit: (c) => (c.p2p = { bootstrap: ["/ip4/198.51.100.4/tcp/4001"], mnds: true }),
        expect: {
          "p2p.bootstrap.0": /a multiaddr ending in \/p2p\/<peer id>/,
          p2p: /unknown field\(s\) mnds; remove/,
        },
      },
      {
        name: "missing section",
        edit: (c) => delete c.chain,
        expect: { chain: /required \(object\) is missing; add it/ },
      },
      {
        name: "fees: a gas price without its unit, a tip above the cap, a replacement bound of 0",
        edit: (c) => (c.chain.fees = { maxFee: "20", maxPriorityFee: "3 gwei", replaceAfterBlocks: 0 }),
        expect: {
          "chain.fees.maxFee": /a gas price like "30 gwei", "0\.01 gwei" or "1500000 wei"/,
          "chain.fees.replaceAfterBlocks": /greater than or equal to 1/,
        },
      },
      {
        name: "fees: a tip above the cap",
        edit: (c) => (c.chain.fees = { maxFee: "2 gwei", maxPriorityFee: "3 gwei" }),
        expect: {
          "chain.fees.maxPriorityFee":
            /must be at most maxFee \(2 gwei\): the tip is part of the fee; lower it or raise maxFee/,
        },
      },
      {
        name: "missing listing.region",
        edit: (c) => delete c.listing.region,
        expect: { "listing.region": /missing; add it/ },
      },
      {
        name: "yardId with upper case and underscore",
        edit: (c) => (c.yardId = "Edge_A"),
        expect: { yardId: /lower case letters, digits and dashes, e\.g\. edge-a/ },
      },
      {
        name: "yardId of 32 characters",
        edit: (c) => (c.yardId = "a".repeat(32)),
        expect: { yardId: /1-31 characters/ },
      },
      {
        name: "amount without a unit",
        edit: (c) => (c.pricing.floorPerSecond = "10"),
        expect: { "pricing.floorPerSecond": /an amount like "100 units" or "0\.0001 iUSD"/ },
      },
      {
        name: "amount with a comma",
        edit: (c) => (c.listing.stake = "1,5 iUSD"),
        expect: { "listing.stake": /an amount like "100 units"/ },
      },
      {
        name: "negative amount",
        edit: (c) => (c.pricing.cpuPerCoreSecond = "-1 units"),
        expect: { "pricing.cpuPerCoreSecond": /an amount like/ },
      },
      {
        name: "rpcUrl host:port without a scheme (which new URL() reads as the scheme localhost:)",
        edit: (c) => (c.chain.rpcUrl = "localhost:8545"),
        expect: { "chain.rpcUrl": /URL, e\.g\. http:\/\/127\.0\.0\.1:8545/ },
      },
      {
        name: "rpcUrl with a scheme the JSON-RPC client cannot use",
        edit: (c) => (c.chain.rpcUrl = "ftp://127.0.0.1:8545"),
        expect: { "chain.rpcUrl": /URL, e\.g\. http:\/\/127\.0\.0\.1:8545/ },
      },
      {
        name: "rpcUrl without a scheme",
        edit: (c) => (c.chain.rpcUrl = "127.0.0.1:8545"),
        expect: { "chain.rpcUrl": /URL, e\.g\. http:\/\/127\.0\.0\.1:8545/ },
      },
      {
        name: "neither rpcUrl nor rpcUrls",
        edit: (c) => delete (c.chain as { rpcUrl?: string }).rpcUrl,
        expect: { "chain.rpcUrl": /give chain\.rpcUrl \(one RPC URL\) or chain\.rpcUrls/ },
      },
      {
        name: "one of several rpcUrls without a scheme",
        edit: (c) => (c.chain.rpcUrls = ["http://127.0.0.1:8545", "127.0.0.1:8546"]),
        expect: { "chain.rpcUrls.1": /URL, e\.g\. http:\/\/127\.0\.0\.1:8545/ },
      },
      {
        name: "surcharge tiers out of order",
        edit: (c) =>
          (c.pricing.surcharge = [
            { aboveUtilization: 0.8, bps: 3000 },
            { aboveUtilization: 0.5, bps: 1000 },
          ]),
        expect: { "pricing.surcharge": /list the tiers by increasing aboveUtilization/ },
      },
      {
        name: "two surcharge tiers at the same utilization",
        edit: (c) =>
          (c.pricing.surcharge = [
            { aboveUtilization: 0.5, bps: 1000 },
            { aboveUtilization: 0.5, bps: 3000 },
          ]),
        expect: { "pricing.surcharge": /increasing aboveUtilization/ },
      },
      {
        name: "surcharge utilization above 1",
        edit: (c) => (c.pricing.surcharge = [{ aboveUtilization: 1.5, bps: 1000 }]),
        expect: { "pricing.surcharge.0.aboveUtilization": /less than or equal to 1/ },
      },
      {
        name: "minCpuMillis above capacity",
        edit: (c) => (c.capacity.minCpuMillis = 4001),
        expect: { "capacity.minCpuMillis": /larger than capacity\.cpuMillis; lower it/ },
      },
      {
        name: "minMemoryMiB above capacity",
        edit: (c) => (c.capacity.minMemoryMiB = 8192),
        expect: { "capacity.minMemoryMiB": /larger than capacity\.memoryMiB; lower it/ },
      },
      {
        name: "minSlotS above maxSlotS",
        edit: (c) => {
          c.lease.minSlotS = 100;
          c.lease.maxSlotS = 50;
        },
        expect: { "lease.minSlotS": /larger than lease\.maxSlotS; lower it/ },
      },
      {
        name: "ingress caps that contradict each other, and an idle time of 0",
        edit: (c) => {
          c.ingress = { maxConnectionsPerClient: 5000, udpSessionsPerPort: 10_000, tcpIdleS: 0 };
        },
        expect: {
          "ingress.maxConnectionsPerClient": /at most ingress\.maxConnectionsPerPort \(4096\); lower it or raise/,
          "ingress.udpSessionsPerPort": /at most ingress\.udpSessions \(8192\); lower it or raise udpSessions/,
          "ingress.tcpIdleS": /greater than or equal to 1/,
        },
      },
      {
        name: "an agent gateway whose per-lease cap exceeds the total, and an RPC that is no URL",
        edit: (c) => {
          c.agentGateway = {
            rpcUrl: "localhost:8545",
            limits: { concurrentPerLease: 200, concurrentPerTenant: 129, callGas: 20_000 },
          };
        },
        expect: {
          "agentGateway.rpcUrl": /must be an http:\/\/ or https:\/\/ URL/,
          "agentGateway.limits.concurrentPerTenant": /at most agentGateway\.limits\.concurrent \(128\)/,
          "agentGateway.limits.callGas": /greater than or equal to 21000/,
          "agentGateway.limits.concurrentPerLease":
            /at most agentGateway\.limits\.concurrent \(128\); lower it or raise/,
        },
      },
      {
        name: "a probe namespace that is no absolute path, and probe bounds out of range",
        edit: (c) => {
          c.probe = { netns: "site", maxHops: 65, perLeaseBurst: 0 };
        },
        expect: {
          "probe.netns": /an absolute path, e\.g\. \/run\/netns\/site/,
          "probe.maxHops": /less than or equal to 64/,
          "probe.perLeaseBurst": /greater than or equal to 1/,
        },
      },
      {
        name: "a DNS upstream that is a name, not an address",
        edit: (c) => {
          c.overlay = { dnsUpstream: "dns.example:53" };
        },
        expect: { "overlay.dnsUpstream": /give ip or ip:port, e\.g\. 127\.0\.0\.1:53/ },
      },
      {
        name: "port out of range and a listen address that is not a multiaddr",
        edit: (c) => {
          c.http.port = 70000;
          c.listen = ["/ip4/127.0.0.1/tcp/0", "127.0.0.1:4001"];
        },
        expect: { "http.port": /65535/, "listen.1": /\// },
      },
    ];

    for (const k of cases) {
      it(`refuses ${k.name}`, () => {
        const got = problems(refusal(invalid(k.edit)));
        expect([...got.keys()].sort()).to.deep.equal(Object.keys(k.expect).sort());
        for (const [field, re] of Object.entries(k.expect)) expect(got.get(field)).to.match(re);
      });
    }

    it("lists every problem at once, one line each, without a stack trace or raw zod output", () => {
      const msg = refusal(
        invalid((c) => {
          c.listing.regoin = "x";
          c.capacity.cpuMillis = "4000";
          c.pricing.floorPerSecond = "0.0001";
          c.yardId = "";
          delete c.dataDir;
        }),
      );
      const got = problems(msg);
      expect([...got.keys()].sort()).to.deep.equal(
        ["listing", "capacity.cpuMillis", "pricing.floorPerSecond", "yardId", "dataDir"].sort(),
      );
      expect(got.get("listing")).to.equal("unknown field(s) regoin; remove them or fix the spelling");
      expect(got.get("dataDir")).to.match(/missing; add it/);
      expect(msg).to.not.match(/"code":|ZodError|\n\s+at /);
    });

    it("refuses what is not an object at all", () => {
      for (const raw of [null, [], "yard", 42]) expect(refusal(raw)).to.match(/\(top level\): /);
    });
  });

  describe("resolvePrices", () => {
    it('reads "<n> units" as base units and "<decimal> <SYMBOL>" with the token\'s decimals', () => {
      const p = resolvePrices(
        withPricing(
          { floorPerSecond: "100 units", cpuPerCoreSecond: "0.0001 iUSD", memoryPerGiBSecond: "  7  iUSD " },
          { stake: "250.5 iUSD" },
        ),
        TOKEN,
      );
      expect(p.floorPerSecond).to.equal(100n);
      expect(p.cpuPerCoreSecond).to.equal(100n);
      expect(p.memoryPerGiBSecond).to.equal(7_000_000n);
      expect(p.stake).to.equal(250_500_000n);
      const c = validInput();
      delete c.listing.stake;
      expect(resolvePrices(parseYardConfig(c, FILE), TOKEN).stake).to.equal(undefined);
    });

    it("asks a relay fee of 0.001 token by default whatever the token's decimals (USDC's 6, an 18-decimal token's)", () => {
      const input = validInput();
      delete input.listing.stake;
      const c = parseYardConfig(input, FILE);
      expect(resolvePrices(c, TOKEN).relayFee).to.equal(1_000n);
      expect(resolvePrices(c, { symbol: "USDC", decimals: 6 }).relayFee).to.equal(1_000n);
      expect(resolvePrices(c, { symbol: "DAI", decimals: 18 }).relayFee).to.equal(10n ** 15n);
      expect(resolvePrices(c, { symbol: "TWO", decimals: 2 }).relayFee).to.equal(1n);
    });

    it("converts any decimal with at most the token's decimals exactly", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 18 }),
          fc.bigInt({ min: 0n, max: 10n ** 12n }),
          fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 18 }),
          (decimals, whole, fracRaw) => {
            const frac = fracRaw.slice(0, decimals);
            const text = frac === "" ? `${whole} TOK` : `${whole}.${frac} TOK`;
            const expected = whole * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
            fc.pre(expected > 0n && expected < 2n ** 96n);
            const p = resolvePrices(
              withPricing(
                { floorPerSecond: text, cpuPerCoreSecond: text, memoryPerGiBSecond: "0 units" },
                { stake: text },
              ),
              { symbol: "TOK", decimals },
            );
            expect(p.floorPerSecond).to.equal(expected);
            expect(p.cpuPerCoreSecond).to.equal(expected);
            expect(p.stake).to.equal(expected);
          },
        ),
      );
    });

    it("reads chain.fees.gasTokenPrice (what one ETH is worth in the token) exactly; absent, gas is not weighed", () => {
      const c = parseYardConfig(
        invalid((j) => (j.chain.fees = { gasTokenPrice: "3000.5 iUSD", maxFee: "0.05 gwei" })),
        FILE,
      );
      expect(c.chain.fees).to.deep.equal({
        gasTokenPrice: "3000.5 iUSD",
        maxFee: "0.05 gwei",
        replaceAfterBlocks: 3,
        replaceAfterS: 45,
      });
      expect(resolvePrices(c, TOKEN).gasTokenPrice).to.equal(3_000_500_000n);
      // No tip bound given: 2 gwei, or the cap when it is lower (an L2's).
      expect(resolveFees(c.chain.fees).maxPriorityFeePerGas).to.equal(50_000_000n);
      expect(resolvePrices(parseYardConfig(validInput(), FILE), TOKEN)).to.not.have.property("gasTokenPrice");
      const other = parseYardConfig(
        invalid((j) => (j.chain.fees = { gasTokenPrice: "3000 USDC" })),
        FILE,
      );
      expect(resolveError(other)).to.match(
        /chain\.fees\.gasTokenPrice "3000 USDC" is in USDC, but the market's token is iUSD/,
      );
    });

    it("reads chain.fees.l1FeePerClaim (an OP-stack chain's L1 data fee per claim) in wei, and refuses anything else", () => {
      const c = parseYardConfig(
        invalid((j) => (j.chain.fees = { l1FeePerClaim: "20000 gwei" })),
        FILE,
      );
      expect(parseGasPrice(c.chain.fees.l1FeePerClaim!)).to.equal(20_000_000_000_000n);
      expect(parseYardConfig(validInput(), FILE).chain.fees).to.not.have.property("l1FeePerClaim");
      expect(() =>
        parseYardConfig(
          invalid((j) => (j.chain.fees = { l1FeePerClaim: "0.00002 ETH" })),
          FILE,
        ),
      ).to.throw(/l1FeePerClaim/);
    });

    it("refuses another token's symbol, naming the field and the market's token", () => {
      const msg = resolveError(withPricing({ cpuPerCoreSecond: "0.0001 USDC" }));
      expect(msg).to.contain(FILE);
      expect(msg).to.contain("pricing.cpuPerCoreSecond");
      expect(msg).to.contain("USDC");
      expect(msg).to.match(/token is iUSD/);
      expect(msg).to.contain('"<decimal> iUSD"');
      expect(resolveError(withPricing({}, { stake: "5 ETH" }))).to.contain("listing.stake");
    });

    it("refuses more decimals than the token has, and fractional base units", () => {
      const msg = resolveError(withPricing({ memoryPerGiBSecond: "0.0000001 iUSD" }));
      expect(msg).to.contain("pricing.memoryPerGiBSecond");
      expect(msg).to.match(/7 decimals/);
      expect(msg).to.match(/only 6/);
      expect(resolveError(withPricing({ floorPerSecond: "1.5 units" }))).to.contain("pricing.floorPerSecond");
    });

    it("refuses a zero floor in either notation, and a floor that does not fit uint96", () => {
      for (const zero of ["0 units", "0.000 iUSD", "0 iUSD"]) {
        const msg = resolveError(withPricing({ floorPerSecond: zero }));
        expect(msg).to.contain("pricing.floorPerSecond");
        expect(msg).to.match(/above zero/);
      }
      // zero CPU or memory prices are fine: the floor still makes every lease paid
      expect(
        resolvePrices(withPricing({ cpuPerCoreSecond: "0 units", memoryPerGiBSecond: "0 iUSD" }), TOKEN),
      ).to.include({ cpuPerCoreSecond: 0n, memoryPerGiBSecond: 0n });
      expect(resolveError(withPricing({ floorPerSecond: `${2n ** 96n} units` }))).to.match(/uint96/);
      expect(resolvePrices(withPricing({ floorPerSecond: `${2n ** 96n - 1n} units` }), TOKEN).floorPerSecond).to.equal(
        2n ** 96n - 1n,
      );
    });
  });
});
