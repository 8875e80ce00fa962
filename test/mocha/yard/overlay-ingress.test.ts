/**
 * The Ingress (yard-node/ingress.ts) on loopback with plain TCP and HTTP upstreams, without Docker, libp2p or a
 * chain:
 *  - half-close in `tcp` mode: a client that sends its request and then ends its write side (like `nc -N`) gets
 *    the whole answer after its EOF, through a local and through a remote (tunnel-like) upstream;
 *  - resets: an upstream that resets mid-answer reaches the client as a reset, not as an end (`tcp`, and `http`
 *    with an answer delimited by the connection's end), and a client's reset reaches the upstream;
 *  - redirects in `http` mode (a lease holder's redirect per subnet, a stub's redirect) are counted apart from the
 *    requests served: they enter neither λ nor the latency of the lease's flows.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import type { Libp2p } from "@libp2p/interface";
import { Ingress, type IngressRoute, type Upstream } from "../../../yard-node/ingress.ts";
import { tcpServer } from "../../helpers/net.ts";
import { silentLogger } from "../../../yard-node/log.ts";
import { Overlay, type StoredRoutingRules } from "../../../yard-node/overlay/overlay.ts";

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/**
 * How a client's connection ended: its bytes, and "end" (a clean EOF; the client then ends too) or the error code
 * (a reset). `slow`: the client reads one chunk per millisecond, so the answer piles up in front of it.
 */
function collect(s: net.Socket, o: { slow?: boolean } = {}): Promise<{ data: Buffer; how: string }> {
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => {
    chunks.push(d);
    if (o.slow) {
      s.pause();
      setTimeout(() => s.resume(), 1);
    }
  });
  return new Promise((resolve) => {
    let how = "close";
    s.once("end", () => {
      how = "end";
      s.end();
    });
    s.once("error", (e: NodeJS.ErrnoException) => (how = e.code ?? e.message));
    s.once("close", () => resolve({ data: Buffer.concat(chunks), how }));
  });
}

/** Upstreams of both kinds to a loopback port: spliced locally, or a stream opened by the route (as a tunnel). */
const upstreams = (port: number): Record<string, Upstream> => ({
  local: { kind: "local", host: "127.0.0.1", port },
  remote: {
    kind: "remote",
    connect: async () => {
      const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      await once(s, "connect");
      return s;
    },
  },
});

describe("Ingress on loopback: half-close, resets, redirects", function () {
  this.timeout(30_000);
  let ingress: Ingress;
  const closers: (() => Promise<void>)[] = [];
  let lease = 0n;

  /** Opens an ingress port for a new lease with `route`; returns the port. */
  const open = (route: IngressRoute, mode: "tcp" | "http" = "tcp"): Promise<number> =>
    ingress.open(++lease, 8080, route, 0, mode);

  beforeEach(() => {
    ingress = new Ingress("127.0.0.1");
  });
  afterEach(async () => {
    await ingress.closeAll();
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  for (const kind of ["local", "remote"] as const) {
    it(`tcp (${kind} upstream): a client that ends its writes after the request gets the whole 8 MiB answer`, async () => {
      const answer = randomBytes(8 * 1024 * 1024);
      // Answers only once the request is complete, i.e. after the client's EOF.
      const upstream = await tcpServer((s) => {
        const got: Buffer[] = [];
        s.on("data", (d: Buffer) => got.push(d));
        s.on("end", () => {
          expect(Buffer.concat(got).toString()).to.equal("GET everything\n");
          s.end(answer);
        });
      });
      closers.push(upstream.close);
      const observed: string[] = [];
      const port = await open({
        upstream: () => upstreams(upstream.port)[kind],
        observe: (client) => observed.push(client),
      });
      const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      await once(client, "connect");
      // A slow reader: the answer's end piles up in the Ingress while the upstream is already done.
      const result = collect(client, { slow: true });
      client.end("GET everything\n");
      const { data, how } = await result;
      expect(how).to.equal("end");
      expect(data.length).to.equal(answer.length);
      expect(sha256(data)).to.equal(sha256(answer));
      expect(observed).to.have.length(1);
    });

    it(`tcp (${kind} upstream): an upstream reset mid-answer reaches the client as a reset, not an end`, async () => {
      const upstream = await tcpServer((s) =>
        s.once("data", () => {
          s.write("partial answer");
          setTimeout(() => s.resetAndDestroy(), 100);
        }),
      );
      closers.push(upstream.close);
      const port = await open({ upstream: () => upstreams(upstream.port)[kind] });
      const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      await once(client, "connect");
      const result = collect(client);
      client.write("GET\n");
      const { data, how } = await result;
      expect(data.toString()).to.equal("partial answer");
      expect(how).to.equal("ECONNRESET");
    });
  }

  it("tcp: a client's reset reaches the upstream as a reset", async () => {
    const seen = Promise.withResolvers<string>();
    const upstream = await tcpServer((s) => {
      s.once("data", () => s.write("hello"));
      s.once("error", (e: NodeJS.ErrnoException) => seen.resolve(e.code ?? e.message));
      s.once("end", () => seen.resolve("end"));
    });
    closers.push(upstream.close);
    const port = await open({ upstream: () => upstreams(upstream.port).local });
    const client = net.connect({ port, host: "127.0.0.1" });
    await once(client, "connect");
    client.write("hi");
    await once(client, "data");
    client.resetAndDestroy();
    expect(await seen.promise).to.equal("ECONNRESET");
  });

  it("http: an upstream cut mid-answer resets the client's connection (an HTTP/1.0 answer ends with it)", async () => {
    const upstream = await tcpServer((s) =>
      s.once("data", () => {
        // No content-length: the answer is delimited by the connection's end.
        s.write("HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\npartial");
        setTimeout(() => s.resetAndDestroy(), 100);
      }),
    );
    closers.push(upstream.close);
    const port = await open({ upstream: () => upstreams(upstream.port).local }, "http");
    const client = net.connect({ port, host: "127.0.0.1" });
    await once(client, "connect");
    const result = collect(client);
    client.write("GET / HTTP/1.0\r\nhost: x\r\n\r\n");
    const { data, how } = await result;
    expect(data.toString()).to.match(/^HTTP\/1\.1 200 OK\r\n[\s\S]*partial$/);
    expect(how).to.equal("ECONNRESET");
    expect(ingress.errors).to.equal(1);
  });

  it("http: redirected requests are counted apart, never as served requests with a latency", async () => {
    const web = http.createServer((req, res) => setTimeout(() => res.end(`served ${req.url}`), 20));
    web.listen(0, "127.0.0.1");
    await once(web, "listening");
    closers.push(() => new Promise((r) => web.close(() => r())));
    const target = { host: "127.0.0.1", port: (web.address() as net.AddressInfo).port };
    // Lease 1: the lease holder redirects 127.0.0.0/24 to a closer ICON. Lease 2: a stub (HTTP: redirect all).
    const rules: StoredRoutingRules[] = [
      { leaseId: 1n, redirects: [{ subnet: "127.0.0.0/24", location: "http://closer.example:8080" }], stub: undefined },
      {
        leaseId: 2n,
        redirects: [],
        stub: {
          yard: "yard-b",
          addrs: [],
          instanceId: 9n,
          endpoint: "new.example:8080",
          graceS: 60,
          until: Date.now() + 60_000,
        },
      },
    ];
    const overlay = new Overlay({
      node: { peerId: "yard-a", getMultiaddrs: () => [], getConnections: () => [] } as unknown as Libp2p,
      log: silentLogger,
      authorize: () => Promise.reject(new Error("not used")),
      local: () => [],
      store: { routingRules: () => rules, setRoutingRules: () => {}, deleteRoutingRules: () => {} },
    });
    overlay.restore();
    const port1 = await ingress.open(
      1n,
      8080,
      overlay.ingressRoute(1n, 8080, true, () => target),
      0,
      "http",
    );
    const port2 = await ingress.open(
      2n,
      8080,
      overlay.ingressRoute(2n, 8080, true, () => target),
      0,
      "http",
    );
    /** One request on a new connection from `localAddress`: status, location and body. */
    const get = async (port: number, localAddress: string, path: string) => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get({ host: "127.0.0.1", port, path, localAddress, agent: false }, resolve).on("error", reject),
      );
      let body = "";
      for await (const c of res) body += String(c);
      return { status: res.statusCode, location: res.headers.location, body };
    };
    for (let i = 0; i < 5; i++) {
      // 127.0.0.1 is redirected; 127.0.1.1 (another /24 of loopback) is served here.
      expect(await get(port1, "127.0.0.1", `/a${i}`)).to.deep.include({
        status: 307,
        location: `http://closer.example:8080/a${i}`,
      });
      expect(await get(port1, "127.0.1.1", `/b${i}`)).to.deep.include({ status: 200, body: `served /b${i}` });
    }
    expect(await get(port2, "127.0.1.1", "/c")).to.deep.include({ status: 307, location: "http://new.example:8080/c" });
    const served = overlay.flows(1n).snapshot();
    expect(served.map((f) => [f.subnet, f.requests])).to.deep.equal([["127.0.1.0/24", 5]]);
    expect(served[0]!.latencyMs).to.be.at.least(15);
    expect(
      overlay
        .flows(1n)
        .redirects()
        .map((r) => [r.subnet, r.redirects]),
    ).to.deep.equal([["127.0.0.0/24", 5]]);
    expect(overlay.flows(2n).snapshot()).to.deep.equal([]);
    expect(
      overlay
        .flows(2n)
        .redirects()
        .map((r) => [r.subnet, r.redirects]),
    ).to.deep.equal([["127.0.1.0/24", 1]]);
    expect({ requests: ingress.requests, redirects: ingress.redirects }).to.deep.equal({ requests: 11, redirects: 6 });
  });
});
