/** The app owner's config (`icon app deploy --config`): defaults, and refusals that name the field and the fix. */
import { expect } from "chai";
import { ConfigError, type Deployment } from "../../../protocol/index.ts";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { agentEnvFrom } from "../../../icon-agent/config.ts";
import { Agent } from "../../../icon-agent/agent.ts";
import { writeAgentState } from "../../../icon-agent/state.ts";
import { CONFIG_SERVICE } from "../../helpers/app.ts";

const deployment = { chainId: 31337 } as unknown as Deployment;
const service = CONFIG_SERVICE;

/** The ConfigError `raw` is refused with. */
function refusal(raw: unknown): ConfigError {
  try {
    agentEnvFrom(raw, "http://127.0.0.1:8545", deployment);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    expect((e as ConfigError).code).to.equal("BAD_APP_CONFIG");
    return e as ConfigError;
  }
  throw new Error("the config was accepted");
}

describe("app config", () => {
  it("fills the defaults a real deployment needs; clients' domains are learned unless turned off", () => {
    const env = agentEnvFrom({ service, discovery: { domains: ["edge.example"] } }, "http://x:1", deployment);
    expect(env.domains).to.deep.equal(["edge.example"]);
    expect(env.learnDomains).to.equal(true);
    expect(env.spec.slotSeconds).to.equal(3600);
    expect([env.periodMs, env.coolDownS, env.renewBeforeS]).to.deep.equal([5000, 120, 300]);
    const off = agentEnvFrom({ service, discovery: { registry: true, learnDomains: false } }, "http://x:1", deployment);
    expect(off.learnDomains).to.equal(false);
    expect(off.registry).to.equal(true);
  });

  it("takes the chain's confirmation depth (2, or 0 on the dev chain 31337) and refuses a bad one with a sentence", () => {
    const discovery = { domains: ["edge.example"] };
    expect(agentEnvFrom({ service, discovery }, "http://x:1", deployment).chainConfirmations).to.equal(0);
    const base = { ...deployment, chainId: 8453 } as Deployment;
    expect(agentEnvFrom({ service, discovery }, "http://x:1", base).chainConfirmations).to.equal(2);
    const set = agentEnvFrom({ service, discovery, agent: { chainConfirmations: 5 } }, "http://x:1", base);
    expect([set.chainConfirmations, set.confirmations]).to.deep.equal([5, 3]); // (the decisions' hysteresis apart)
    for (const [bad, why] of [
      [-1, /agent\.chainConfirmations: 0 \(act on the newest block\) or more/],
      [65, /agent\.chainConfirmations: at most 64 blocks/],
      [1.5, /agent\.chainConfirmations: a whole number of blocks, 0 to 64/],
      ["2", /agent\.chainConfirmations: a whole number of blocks, 0 to 64/],
    ] as const)
      expect(refusal({ service, discovery, agent: { chainConfirmations: bad } }).message).to.match(why);
  });

  it("refuses a config without any way to find yards, naming the four ways", () => {
    expect(refusal({ service, discovery: {} }).message).to.match(
      /discovery: give discovery\.domains \(DNS SRV\), discovery\.seeds, discovery\.registry: true or a p2p discovery \(mdns, bootstrap, dht\)/,
    );
    // p2p settings that find nothing (all off) are no way either
    expect(refusal({ service, discovery: {}, p2p: { dhtPrivateAddresses: true } }).message).to.match(
      /or a p2p discovery/,
    );
  });

  it("takes libp2p discovery alone as a way to find yards, and checks its fields", () => {
    const env = agentEnvFrom({ service, discovery: {}, p2p: { mdns: true } }, "http://x:1", deployment);
    expect(env.p2p).to.deep.equal({ mdns: true, bootstrap: [], dht: false, dhtPrivateAddresses: false });
    const dht = agentEnvFrom(
      { service, discovery: {}, p2p: { dht: true, bootstrap: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc"] } },
      "http://x:1",
      deployment,
    );
    expect(dht.p2p?.dht).to.equal(true);
    const m = refusal({ service, discovery: {}, p2p: { bootstrap: ["/ip4/127.0.0.1/tcp/4001"], mdsn: true } }).message;
    expect(m).to.match(/p2p\.bootstrap\.0: a multiaddr ending in \/p2p\/<peer id>/);
    expect(m).to.match(/mdsn/);
  });

  it("names each bad field with its fix", () => {
    const m = refusal({
      service: { ...service, imageDigest: "sha256:ab", ports: [] },
      discovery: { domains: ["e.example"], learnDomains: "yes", dnsServers: ["ns1.example"] },
    }).message;
    expect(m).to.match(/service\.imageDigest: the image id as 0x \+ 64 hex digits/);
    expect(m).to.match(/service\.ports: list at least one container port/);
    expect(m).to.match(/discovery\.learnDomains: .*boolean/i);
    expect(m).to.match(/discovery\.dnsServers\.0: give ip:port, e\.g\. 127\.0\.0\.1:53/);
  });

  it("places ICONs as sidecars unless local: the agent's image, digest and share, each refusal naming its fix", () => {
    const raw = { service, discovery: { registry: true } };
    const digest = "0x" + "cd".repeat(32);
    expect(agentEnvFrom(raw, "http://x:1", deployment).sidecar, "local (the default of the function)").to.equal(
      undefined,
    );
    const env = agentEnvFrom(raw, "http://x:1", deployment, { local: false, agentImageDigest: digest });
    expect(env.sidecar).to.deep.equal({
      imageRef: "icon/agent:1",
      imageDigest: digest,
      command: [],
      cpuMillis: 100,
      memoryMiB: 160,
    });
    // The config's digest wins over the engine's; no digest at all is refused with the three ways out.
    const named = { ...raw, sidecar: { imageDigest: "0x" + "ef".repeat(32), cpuMillis: 200, memoryMiB: 256 } };
    expect(
      agentEnvFrom(named, "http://x:1", deployment, { local: false, agentImageDigest: digest }).sidecar,
    ).to.include({
      imageDigest: "0x" + "ef".repeat(32),
      cpuMillis: 200,
      memoryMiB: 256,
    });
    expect(() => agentEnvFrom(raw, "http://x:1", deployment, { local: false })).to.throw(
      /build it \(bash scripts\/images\.sh\).*give sidecar\.imageDigest.*or deploy with --local/,
    );
    const bad = refusal({
      ...raw,
      sidecar: { memoryMiB: 64, cpuMillis: 5, imageDigest: "sha256:x", extra: 1 },
    }).message;
    expect(bad).to.match(/sidecar\.memoryMiB: the idle agent takes about 94 MiB; give sidecar\.memoryMiB ≥ 128/);
    expect(bad).to.match(/sidecar\.cpuMillis: the agent needs at least 10 mCPU; give sidecar\.cpuMillis ≥ 10/);
    expect(bad).to.match(/sidecar\.imageDigest: .*or leave it out/);
    expect(bad).to.match(/extra/);
  });

  it("refuses unknown keys and a renewal lead as long as the slot", () => {
    expect(refusal({ service, discovery: { domains: ["e.example"], domian: "x" } }).message).to.match(/domian/);
    expect(
      refusal({
        service: { ...service, slotSeconds: 120 },
        discovery: { registry: true },
        agent: { renewBeforeS: 120 },
      }).message,
    ).to.match(/agent\.renewBeforeS must be shorter than service\.slotSeconds/);
  });

  it("takes a service name as app.service.servicens: the namespace label is the application's, never the owner's", () => {
    const env = agentEnvFrom(
      { service: { ...service, name: "shop.web.prod" }, discovery: { registry: true } },
      "http://x:1",
      deployment,
    );
    expect(env.spec.service).to.equal("shop.web.prod");
    for (const name of ["shop.acme.web.prod", "shop.r7.web.prod", "Shop.web.prod", "shop.web"]) {
      const m = refusal({ service: { ...service, name }, discovery: { registry: true } }).message;
      expect(m, name).to.match(/service\.name: give app\.service\.servicens/);
      expect(m, name).to.contain("the deploy fills in the namespace label r<root account>");
    }
  });

  it("an ICON whose state names a service outside its application's namespace refuses to start, naming the right one", async () => {
    const env = agentEnvFrom(
      { service: { ...service, name: "shop.web.prod" }, discovery: { registry: true } },
      "http://127.0.0.1:1",
      deployment,
    );
    const dir = path.join(await mkdtemp(path.join(tmpdir(), "icon-ns-")), "origin");
    const seed = { name: "origin", account: 7n, root: 7n, subnets: [], children: {}, replicas: 0 };
    const key = "0x" + "11".repeat(32);
    for (const name of ["shop.r5.web.prod", "shop.web.prod"]) {
      await writeAgentState(dir, { ...env, spec: { ...env.spec, service: name } }, seed, key);
      const e = await Agent.open(dir, { spawn: async () => {} }).then(
        () => undefined,
        (x: Error) => x,
      );
      expect(e, name).to.be.instanceOf(ConfigError);
      expect(e!.message, name).to.contain("must be r7");
      expect(e!.message, name).to.contain("agent.json");
    }
  });
});
