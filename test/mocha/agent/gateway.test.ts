/**
 * The agent's side of the agent gateway: the parsers of its answers refuse garbage (protocol/yard/gateway.ts), the
 * client bounds, times out and checks what a gateway says (icon-agent/gateway.ts), and the gateway transport
 * (protocol/net/gateway-transport.ts) sends every dial through `POST /dial`, keeps noise's end-to-end check of the
 * far peer and refuses addresses without /p2p/.
 *
 * The gateways here are test stand-ins for the yard's (yard-node/agent-gateway.ts, exercised for real in
 * sidecar-agent.test.ts): an HTTP server on 127.0.0.3 whose `/dial` opens a real TCP splice to the address asked
 * for — or, to inject the faults a dishonest or broken yard could, to another peer, another host, or nothing.
 */
import { expect } from "chai";
import fc from "fast-check";
import http from "node:http";
import net from "node:net";
import type { Libp2p } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import {
  createIconNode,
  fetchAltoMap,
  AltoMap,
  isIconError,
  parseGatewayDial,
  parseGatewayDialRequest,
  parseGatewaySelf,
  serveAlto,
  type GatewaySelf,
} from "../../../protocol/index.ts";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { Agent, GatewayClient, agentEnvFrom, writeAgentState } from "../../../icon-agent/index.ts";

/** The stand-in gateways' address (a loopback address of its own: peers listen on 127.0.0.1 and 127.0.0.2). */
const GW = "127.0.0.3";
const PEER = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
/** A protocol the far peers serve for these tests: a stream of it closes at once. */
const STREAMS_PROTOCOL = "/icon-test/streams/1.0.0";

function goodSelf(): Record<string, unknown> {
  return {
    leaseId: "42",
    yard: { peerId: PEER, addrs: ["/ip4/127.0.0.1/tcp/4001"] },
    agentAddrs: ["/ip4/192.0.2.7/tcp/31000"],
    rpc: "/rpc",
    alto: "/alto",
    dns: `${GW}:53`,
  };
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isIconError(e) ? e.code : `not an IconError: ${String(e)}`;
  }
  return undefined;
}

/** A stand-in gateway on {@link GW}: `handler` answers each request. */
async function serveGateway(
  handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, GW, r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://${GW}:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A TCP splice on {@link GW} to host:port; `close` ends it and every connection through it. */
async function splice(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const up = net.connect({ host, port });
    sockets.add(c).add(up);
    c.pipe(up).pipe(c);
    const end = (): void => {
      c.destroy();
      up.destroy();
      sockets.delete(c);
      sockets.delete(up);
    };
    c.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, GW, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe("agent gateway (agent side)", function () {
  this.timeout(60_000);
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  it("refuses any JSON that is not a /self or /dial answer with BAD_GATEWAY_ANSWER, never another error", () => {
    // The shapes themselves: protocol/gateway.test.ts. Here: nothing a gateway sends escapes as another error.
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(code(() => parseGatewaySelf(v))).to.equal("BAD_GATEWAY_ANSWER");
        expect(["BAD_GATEWAY_ANSWER", undefined]).to.include(code(() => parseGatewayDial(v)));
      }),
      { numRuns: 500 },
    );
    // Each field of a valid answer replaced by arbitrary JSON: accepted only if still valid, else the one code.
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(goodSelf())), fc.jsonValue(), (k, v) => {
        expect(["BAD_GATEWAY_ANSWER", undefined]).to.include(code(() => parseGatewaySelf({ ...goodSelf(), [k]: v })));
      }),
      { numRuns: 500 },
    );
  });

  describe("client (icon-agent/gateway.ts)", () => {
    it("accepts only http://<ip>:<port> as ICON_GATEWAY", () => {
      expect(GatewayClient.fromUrl("http://172.18.0.1:8547").ip).to.equal("172.18.0.1");
      for (const u of [
        "https://172.18.0.1:8547",
        "http://gw.example:8547",
        "http://172.18.0.1",
        "http://172.18.0.1:8547/x",
        "nonsense",
      ])
        expect(
          code(() => GatewayClient.fromUrl(u)),
          u,
        ).to.equal("BAD_OPTION");
    });

    it("reads /self, and refuses an oversized, non-JSON or foreign-DNS answer, a refusal and a gateway that does not answer", async () => {
      let answer: (res: http.ServerResponse) => void = (res) => res.end(JSON.stringify(goodSelf()));
      const gw = await serveGateway((_req, _body, res) => answer(res));
      cleanup.push(gw.close);
      const client = GatewayClient.fromUrl(gw.url);
      const self = await client.self();
      expect(self.leaseId).to.equal(42n);
      expect(client.url(self.rpc)).to.equal(`${gw.url}/rpc`);

      const failure = async (a: typeof answer): Promise<unknown> => {
        answer = a;
        return client.self().then(
          () => undefined,
          (e: unknown) => e,
        );
      };
      const big = await failure((res) => res.end(JSON.stringify({ ...goodSelf(), pad: "x".repeat(100_000) })));
      expect(isIconError(big, "BAD_GATEWAY_ANSWER") && big.message).to.match(/longer than/);
      // Chunked (no content-length): the bound holds while reading.
      const chunked = await failure((res) => {
        res.write("[");
        for (let i = 0; i < 100; i++) res.write(`"${"y".repeat(1000)}",`);
        res.end('""]');
      });
      expect(isIconError(chunked, "BAD_GATEWAY_ANSWER") && chunked.message).to.match(/longer than/);
      expect(isIconError(await failure((res) => res.end("not json")), "BAD_GATEWAY_ANSWER")).to.equal(true);
      expect(
        isIconError(
          await failure((res) => res.end(JSON.stringify({ ...goodSelf(), dns: "10.9.9.9:53" }))),
          "BAD_GATEWAY_ANSWER",
        ),
      ).to.equal(true);
      const refused = await failure((res) => res.writeHead(403).end("this address is no agent sidecar of this yard"));
      expect(isIconError(refused, "GATEWAY_REFUSED") && refused.message).to.match(/403.*no agent sidecar/);

      await gw.close();
      const down = await client.self().catch((e: unknown) => e);
      expect(isIconError(down, "GATEWAY_UNREACHABLE") && down.message).to.match(/ICON_GATEWAY/);
    });

    it("reads its lease's last report from GET /status (none: undefined), and refuses any other answer with BAD_GATEWAY_ANSWER", async () => {
      const report = {
        name: "origin",
        account: "1",
        instance: 2,
        policyVersion: 3,
        atMs: 1_700_000_000_000,
        subnets: [],
        decisions: [
          {
            atMs: 1_699_999_990_000,
            text: "migrate to edge-b",
            u: 0.41,
            uBest: 0.73,
            latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: null }],
          },
        ],
      };
      let answer: unknown = { report };
      const asked: string[] = [];
      const gw = await serveGateway((req, _body, res) => {
        asked.push(`${req.method} ${req.url}`);
        res.end(JSON.stringify(answer));
      });
      cleanup.push(gw.close);
      const client = GatewayClient.fromUrl(gw.url);
      const got = await client.lastStatus();
      expect(got?.decisions).to.deep.equal(report.decisions);
      expect(got?.instance).to.equal(2);
      expect(asked).to.deep.equal(["GET /status"]);
      answer = { report: null };
      expect(await client.lastStatus()).to.equal(undefined);
      const bad = { ...report, decisions: [{ ...report.decisions[0], u: "high" }] };
      for (const a of [{}, [], [{ report }], null, "report", { report: bad }, { report: { name: "origin" } }]) {
        answer = a;
        const e = await client.lastStatus().then(
          () => "answered",
          (x: unknown) => x,
        );
        expect(isIconError(e, "BAD_GATEWAY_ANSWER"), JSON.stringify(a)).to.equal(true);
      }
    });

    it("gives up on a gateway that accepts but never answers, within the /self timeout", async () => {
      const gw = await serveGateway(() => {}); // never answers
      cleanup.push(gw.close);
      const started = Date.now();
      const e = await GatewayClient.fromUrl(gw.url)
        .self(AbortSignal.timeout(500))
        .catch((x: unknown) => x);
      expect(e).to.be.instanceOf(Error);
      expect(Date.now() - started).to.be.lessThan(3000);
    });
  });

  it("an agent whose gateway does not answer does not start: the sentence names ICON_GATEWAY, the state is left as it was", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "icon-gw-agent-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const deployment = {
      chainId: 31337,
      token: "0x" + "01".repeat(20),
      registry: "0x" + "02".repeat(20),
      market: "0x" + "03".repeat(20),
      accessManager: "0x" + "04".repeat(20),
      deployedAt: new Date().toISOString(),
      blockNumber: 0,
    };
    const env = agentEnvFrom(
      {
        service: {
          image: "icon/web:1",
          imageDigest: "0x" + "ab".repeat(32),
          ports: [8080],
          cpuMillis: 100,
          memoryMiB: 32,
        },
        discovery: { registry: true },
      },
      "http://127.0.0.1:9",
      deployment,
    );
    await writeAgentState(
      dir,
      env,
      { name: "origin", account: 1n, root: 1n, subnets: [], children: {}, replicas: 0 },
      Wallet.createRandom().privateKey,
    );
    const before = (await readdir(dir)).sort();
    const closed = await serveGateway(() => {});
    await closed.close(); // a port nothing listens on any more
    const e = await Agent.open(dir, { spawn: async () => {} }, { gateway: closed.url }).catch((x: unknown) => x);
    expect(isIconError(e, "GATEWAY_UNREACHABLE") && e.message).to.match(/cannot start in the sidecar: .*ICON_GATEWAY=/);
    const bad = await Agent.open(dir, { spawn: async () => {} }, { gateway: "http://gateway.example:8547" }).catch(
      (x: unknown) => x,
    );
    expect(isIconError(bad, "BAD_OPTION") && bad.message).to.match(/ICON_GATEWAY/);
    expect((await readdir(dir)).sort(), "no lock, no peer key, nothing written").to.deep.equal(before);
  });

  describe("transport (protocol/net/gateway-transport.ts)", () => {
    /** The agent's node behind a stand-in gateway; `route` picks where each /dial's forward goes. */
    async function behindGateway(route: (peer: string, addr: string) => Promise<string | undefined>) {
      const asked: { peer: string; addrs: string[] }[] = [];
      const gw = await serveGateway((req, body, res) => {
        if (req.method !== "POST" || req.url !== "/dial") return void res.writeHead(404).end("no such path");
        const b = parseGatewayDialRequest(JSON.parse(body));
        if (typeof b === "string") return void res.writeHead(400).end(b);
        asked.push(b);
        void route(b.peer, b.addrs[0]!).then((addr) =>
          addr ? res.end(JSON.stringify({ addr })) : res.writeHead(502).end("that peer cannot be reached"),
        );
      });
      cleanup.push(gw.close);
      const agent = await createIconNode({ listen: ["/ip4/127.0.0.2/tcp/0"], gateway: GatewayClient.fromUrl(gw.url) });
      cleanup.push(async () => agent.stop());
      return { agent, asked };
    }

    async function peerOn(host: string): Promise<Libp2p> {
      const n = await createIconNode({ listen: [`/ip4/${host}/tcp/0`] });
      cleanup.push(async () => n.stop());
      await n.handle(STREAMS_PROTOCOL, (stream) => void stream.close().catch(() => {}));
      return n;
    }

    const forwardTo = async (addr: string): Promise<string> => {
      const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)$/.exec(addr)!;
      const s = await splice(m[1]!, Number(m[2]));
      cleanup.push(s.close);
      return `/ip4/${GW}/tcp/${s.port}`;
    };

    it("dials a peer through the forward /dial gives, asking for that peer at that address, and noise proves the peer", async () => {
      const far = await peerOn("127.0.0.2");
      const { agent, asked } = await behindGateway((_p, addr) => forwardTo(addr));
      const target = far.getMultiaddrs()[0]!;
      const conn = await agent.dial(target);
      expect(conn.remotePeer.equals(far.peerId)).to.equal(true);
      expect(asked).to.deep.equal([{ peer: far.peerId.toString(), addrs: [target.decapsulateCode(421).toString()] }]);
      expect(conn.remoteAddr.toString()).to.match(
        new RegExp(`^/ip4/127\\.0\\.0\\.3/tcp/\\d+/p2p/${far.peerId.toString()}$`),
      );
      // Streams run over it: one of a protocol the far side serves for this test (not identify's, which allows one
      // outbound stream at a time and may still be identifying the new connection: a CI failure).
      const stream = await conn.newStream(STREAMS_PROTOCOL);
      await stream.close();

      // Dialled again by peer id after the connection closed: the peer store holds the forward; the transport asks
      // the gateway again for the address that forward stood for, never dials a gateway address blind.
      await agent.hangUp(far.peerId);
      await agent.dial(far.peerId);
      expect(asked.length).to.be.greaterThan(1);
      for (const a of asked) expect(a.addrs).to.deep.equal([target.decapsulateCode(421).toString()]);
    });

    it("keeps at most two /dials under way (the yard's per-sidecar bound) and asks again after a 429", async () => {
      const peers = await Promise.all([1, 2, 3, 4, 5].map(() => peerOn("127.0.0.2")));
      let under = 0;
      let most = 0;
      let refused = 0;
      // A stand-in gateway injecting the fault: its first /dial is answered 429, as a yard does when two of the
      // sidecar's dials are under way; the others are forwarded after a while (the yard's own dial).
      const gw = await serveGateway((req, body, res) => {
        const b = parseGatewayDialRequest(JSON.parse(body));
        if (typeof b === "string") return void res.writeHead(400).end(b);
        if (refused++ === 0) return void res.writeHead(429).end(JSON.stringify({ error: "two /dials under way" }));
        under++;
        most = Math.max(most, under);
        void new Promise((r) => setTimeout(r, 50))
          .then(() => forwardTo(b.addrs[0]!))
          .then((addr) => res.end(JSON.stringify({ addr })))
          .finally(() => under--);
      });
      cleanup.push(gw.close);
      const agent = await createIconNode({ listen: ["/ip4/127.0.0.2/tcp/0"], gateway: GatewayClient.fromUrl(gw.url) });
      cleanup.push(async () => agent.stop());
      const conns = await Promise.all(peers.map((p) => agent.dial(p.getMultiaddrs()[0]!)));
      for (const [i, c] of conns.entries()) expect(c.remotePeer.equals(peers[i]!.peerId)).to.equal(true);
      expect(most, "dials under way at the gateway at once").to.be.at.most(2);
      expect(refused, "five dials and the one refused asked again").to.equal(6);
    });

    it("resolves a /dns4 name itself and asks the gateway for the address it led to (the gateway dials no names)", async () => {
      const far = await peerOn("127.0.0.1");
      const { agent, asked } = await behindGateway((_p, addr) => forwardTo(addr));
      const port = far.getMultiaddrs()[0]!.toString().split("/")[4]!;
      const conn = await agent.dial(multiaddr(`/dns4/localhost/tcp/${port}/p2p/${far.peerId.toString()}`));
      expect(conn.remotePeer.equals(far.peerId)).to.equal(true);
      expect(asked).to.deep.equal([{ peer: far.peerId.toString(), addrs: [`/ip4/127.0.0.1/tcp/${port}`] }]);
      await agent.hangUp(far.peerId);
      const e = await agent
        .dial(multiaddr(`/dns4/nothing.invalid/tcp/${port}/p2p/${far.peerId.toString()}`))
        .catch((x: unknown) => x);
      expect(isIconError(e, "DNS_FAILED") && e.message).to.match(/cannot resolve nothing\.invalid/);
      expect(asked).to.have.length(1);
    });

    it("fails the dial when the gateway splices to another peer than asked (noise checks the far end)", async () => {
      const far = await peerOn("127.0.0.2");
      const impostor = await peerOn("127.0.0.2");
      const { agent } = await behindGateway(() =>
        forwardTo(impostor.getMultiaddrs()[0]!.decapsulateCode(421).toString()),
      );
      const e = await agent.dial(far.getMultiaddrs()[0]!).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(Error);
      expect(agent.getConnections(impostor.peerId)).to.have.length(0);
      expect(agent.getConnections(far.peerId)).to.have.length(0);
    });

    it("refuses an address without /p2p/ before asking the gateway, and a forward the gateway puts on another host", async () => {
      const far = await peerOn("127.0.0.2");
      const { agent, asked } = await behindGateway(async () => "/ip4/127.0.0.2/tcp/9");
      const bare = await agent.dial(far.getMultiaddrs()[0]!.decapsulateCode(421)).catch((x: unknown) => x);
      expect(isIconError(bare, "DIAL_NEEDS_PEER") && bare.message).to.match(/names no peer/);
      expect(asked).to.have.length(0);
      const foreign = await agent.dial(far.getMultiaddrs()[0]!).catch((x: unknown) => x);
      expect(isIconError(foreign, "BAD_GATEWAY_ANSWER") && foreign.message).to.match(
        /not on the gateway's own address/,
      );
      expect(asked).to.have.length(1);
      expect(agent.getConnections(far.peerId)).to.have.length(0);
    });

    it("refuses to dial an address on the gateway's own IP that is no forward it gave", async () => {
      const far = await peerOn("127.0.0.2");
      const { agent, asked } = await behindGateway((_p, addr) => forwardTo(addr));
      const onGateway = multiaddr(`/ip4/${GW}/tcp/1/p2p/${far.peerId.toString()}`);
      const e = await agent.dial(onGateway).catch((x: unknown) => x);
      expect(e).to.be.instanceOf(Error);
      expect(asked).to.have.length(0);
    });
  });

  it("reads an ALTO server below a path prefix (the gateway's /alto)", async () => {
    const map = new AltoMap(
      {
        meta: { vtag: { "resource-id": "net", tag: "1" } },
        "network-map": { pid1: { ipv4: ["10.0.0.0/24"] }, pid2: { ipv4: ["10.0.1.0/24"] } },
      },
      {
        meta: {
          "dependent-vtags": [{ "resource-id": "net", tag: "1" }],
          "cost-type": { "cost-mode": "numerical", "cost-metric": "delay" },
        },
        "cost-map": { pid1: { pid2: 7 } },
      },
    );
    const alto = await serveAlto(map);
    cleanup.push(alto.close);
    const proxy = await serveGateway((req, _b, res) => {
      if (!req.url?.startsWith("/alto/")) return void res.writeHead(404).end();
      void fetch(`${alto.url}${req.url.slice("/alto".length)}`).then(async (r) =>
        res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "" }).end(await r.text()),
      );
    });
    cleanup.push(proxy.close);
    const got = await fetchAltoMap(`${proxy.url}/alto`);
    expect(got.cost("10.0.0.5", "10.0.1.9")).to.equal(7);
  });
});

// Type check only: the parser's output is the contract's type.
export type _SelfIsContract = GatewaySelf;
