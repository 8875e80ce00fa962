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
import { Ingress, type IngressOptions, type IngressRoute, type Upstream } from "../../../yard-node/ingress.ts";
import { waitFor } from "../../helpers/docker.ts";
import { tcpServer } from "../../helpers/net.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { Overlay } from "../../../yard-node/overlay/overlay.ts";
import type { StoredRoutingRules } from "../../../yard-node/overlay/types.ts";

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

/** Resolves when `s` closes, with how: "end" (a clean EOF), an error code (a reset), or "close". */
function closedHow(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let how = "close";
    s.on("data", () => {});
    s.once("end", () => (how = "end"));
    s.once("error", (e: NodeJS.ErrnoException) => (how = e.code ?? e.message));
    s.once("close", () => resolve(how));
  });
}

/** `p`, or a failure naming `what` after `ms` (so that a missing bound fails quickly, not at mocha's timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))),
  ]).finally(() => clearTimeout(t));
}

/** Connects from `localAddress` (any 127.x address is this host's on Linux) to the ingress at `port`. */
async function connectFrom(port: number, localAddress = "127.0.0.1"): Promise<net.Socket> {
  const s = net.connect({ port, host: "127.0.0.1", localAddress });
  s.on("error", () => {});
  await once(s, "connect");
  return s;
}

/** Writes `line` and resolves with the next chunk the socket receives (or undefined if it closes first). */
function roundTrip(s: net.Socket, line: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onData = (d: Buffer): void => {
      s.off("close", onClose);
      resolve(d.toString());
    };
    const onClose = (): void => {
      s.off("data", onData);
      resolve(undefined);
    };
    s.once("data", onData);
    s.once("close", onClose);
    if (!s.destroyed) s.write(line);
  });
}

describe("Ingress bounds: idle timeouts, connections per client address", function () {
  this.timeout(60_000);
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  /** An Ingress with `options`, closed after the test. */
  const make = (options: IngressOptions): Ingress => {
    const i = new Ingress("127.0.0.1", options);
    closers.push(() => i.closeAll());
    return i;
  };
  /** An echo upstream; a connection that sends "push" then gets a byte every 100 ms without asking. */
  async function echoUpstream(): Promise<Awaited<ReturnType<typeof tcpServer>>> {
    const up = await tcpServer((s) => {
      let timer: NodeJS.Timeout | undefined;
      s.on("data", (d: Buffer) => {
        if (d.toString() === "push") timer ??= setInterval(() => s.write("."), 100);
        else s.write(d);
      });
      s.on("end", () => s.end());
      s.on("close", () => clearInterval(timer));
    });
    closers.push(up.close);
    return up;
  }

  it("tcp: a connection idle for tcpIdleMs is closed with its upstream; one that sends, or only receives, is not", async () => {
    const up = await echoUpstream();
    const ingress = make({ tcpIdleMs: 400 });
    const port = await ingress.open(1n, 80, { upstream: () => ({ kind: "local", host: "127.0.0.1", port: up.port }) });
    const idle = await connectFrom(port);
    const talker = await connectFrom(port);
    const listener = await connectFrom(port);
    const t0 = Date.now();
    const idleClosed = closedHow(idle);
    let talkerClosed = false;
    let listenerClosed = false;
    talker.once("close", () => (talkerClosed = true));
    listener.once("close", () => (listenerClosed = true));
    expect(await roundTrip(listener, "push")).to.equal(".");
    // Three idle periods: the talker sends every 100 ms, the listener only receives.
    while (Date.now() - t0 < 1300) {
      expect(await roundTrip(talker, "t")).to.equal("t");
      await new Promise((r) => setTimeout(r, 100));
    }
    // A reset, as for any cut: an answer delimited by the connection's end is not taken for a whole one.
    expect(await within(idleClosed, 5000, "the idle connection to close")).to.equal("ECONNRESET");
    expect(talkerClosed || listenerClosed).to.equal(false);
    expect(ingress.idleClosed).to.equal(1);
    // The idle connection's upstream went with it: two left at the upstream's end.
    await waitFor("the idle upstream to close", () => (up.open() === 2 ? true : undefined), 5000);
    talker.destroy();
    listener.destroy();
  });

  it("http: a client whose request the upstream never answers is cut after httpIdleMs, and the upstream request with it", async () => {
    let upstreamClosed = Promise.withResolvers<void>();
    const web = http.createServer((req) => req.socket.once("close", () => upstreamClosed.resolve()));
    web.listen(0, "127.0.0.1");
    await once(web, "listening");
    closers.push(() => new Promise((r) => web.close(() => r())));
    const ingress = make({ httpIdleMs: 400 });
    const port = await ingress.open(
      1n,
      80,
      { upstream: () => ({ kind: "local", host: "127.0.0.1", port: (web.address() as net.AddressInfo).port }) },
      0,
      "http",
    );
    const c = await connectFrom(port);
    const closed = closedHow(c);
    c.write("GET /never HTTP/1.1\r\nhost: x\r\n\r\n");
    await within(closed, 5000, "the client connection to close");
    await within(upstreamClosed.promise, 5000, "the upstream request to be abandoned");
    expect(ingress.idleClosed).to.equal(1);
    upstreamClosed = Promise.withResolvers<void>();
  });

  for (const mode of ["tcp", "http"] as const)
    it(`${mode}: the per-address cap refuses the N+1th connection while another address still connects`, async () => {
      const up = await echoUpstream();
      const web = http.createServer((req, res) => res.end(`ok ${req.url}`));
      web.listen(0, "127.0.0.1");
      await once(web, "listening");
      closers.push(() => new Promise((r) => web.close(() => r())));
      const target = mode === "tcp" ? up.port : (web.address() as net.AddressInfo).port;
      const ingress = make({ maxConnectionsPerClient: 3 });
      const port = await ingress.open(
        1n,
        80,
        { upstream: () => ({ kind: "local", host: "127.0.0.1", port: target }) },
        0,
        mode,
      );
      const ask = (s: net.Socket, i: number): Promise<string | undefined> =>
        mode === "tcp" ? roundTrip(s, `hi${i}`) : roundTrip(s, `GET /${i} HTTP/1.1\r\nhost: x\r\n\r\n`);
      const answered = (a: string | undefined, i: number): boolean =>
        mode === "tcp" ? a === `hi${i}` : (a ?? "").endsWith(`ok /${i}`);
      const three = await Promise.all([0, 1, 2].map(() => connectFrom(port, "127.0.0.2")));
      for (const [i, s] of three.entries()) expect(answered(await ask(s, i), i)).to.equal(true);
      const fourth = await connectFrom(port, "127.0.0.2").catch(() => undefined);
      expect(fourth === undefined || (await ask(fourth, 3)) === undefined).to.equal(true);
      const other = await connectFrom(port, "127.0.0.3");
      expect(answered(await ask(other, 4), 4)).to.equal(true);
      expect(ingress.refused).to.equal(1);
      // A place freed is a place to take.
      three[0]!.destroy();
      await waitFor("a place to free", async () => {
        const s = await connectFrom(port, "127.0.0.2").catch(() => undefined);
        const ok = s !== undefined && answered(await ask(s, 5), 5);
        s?.destroy();
        return ok ? true : undefined;
      });
      for (const s of [...three, other]) s.destroy();
    });
});

describe("Ingress error paths: resets at any moment end only their connection", function () {
  this.timeout(120_000);
  let uncaught: unknown[] = [];
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  const closers: (() => Promise<void>)[] = [];
  before(() => process.on("uncaughtException", onUncaught));
  after(() => process.off("uncaughtException", onUncaught));
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  /**
   * An HTTP/1.1 upstream written by hand, so that it can fail at any point: `/ok` answers in two parts 30 ms apart;
   * `/reset-early` resets on the request; `/reset-mid` resets after the first part; `/hang` never answers.
   */
  async function faultyUpstream(): Promise<Awaited<ReturnType<typeof tcpServer>> & { hanging: Set<net.Socket> }> {
    const hanging = new Set<net.Socket>();
    const up = await tcpServer((s) => {
      s.on("close", () => hanging.delete(s));
      let buf = "";
      s.on("data", (d: Buffer) => {
        buf += d.toString();
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const path = /^\w+ (\S+)/.exec(buf)?.[1] ?? "/";
        buf = buf.slice(end + 4);
        if (path === "/reset-early") return s.resetAndDestroy();
        if (path === "/hang") return void hanging.add(s);
        s.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello");
        setTimeout(() => {
          if (path === "/reset-mid") s.resetAndDestroy();
          else if (!s.destroyed) s.write("world");
        }, 30);
      });
      s.on("end", () => s.end());
    });
    closers.push(up.close);
    return { ...up, hanging };
  }

  type Cut = "after connect" | "mid-request" | "after the request" | "mid-response";
  const cuts: Cut[] = ["after connect", "mid-request", "after the request", "mid-response"];
  const request = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`;

  /** A client that sends a request for `path` and resets its connection at `cut` (if any); resolves when closed. */
  async function client(port: number, path: string, cut?: Cut): Promise<string> {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.on("error", () => {});
    const got: Buffer[] = [];
    const closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
    s.on("data", (d: Buffer) => {
      got.push(d);
      if (cut === "mid-response") s.resetAndDestroy();
      // (a whole answer, or the ingress's 502: the client is done, as a browser would be)
      else if (/helloworld$|did not answer\n$/.test(Buffer.concat(got).toString())) s.end();
    });
    await once(s, "connect").catch(() => {});
    if (cut === "after connect") s.resetAndDestroy();
    else if (cut === "mid-request") {
      s.write(request(path).slice(0, 9));
      setTimeout(() => s.resetAndDestroy(), 5);
    } else {
      s.write(request(path));
      if (cut === "after the request") setTimeout(() => s.resetAndDestroy(), 10);
    }
    await closed;
    return Buffer.concat(got).toString();
  }

  for (const mode of ["tcp", "http"] as const)
    for (const kind of ["local", "remote"] as const)
      it(`${mode} (${kind} upstream): clients and upstreams reset at every point, and the ingress keeps serving`, async () => {
        uncaught = [];
        const up = await faultyUpstream();
        const ingress = new Ingress("127.0.0.1", { httpIdleMs: 2000, tcpIdleMs: 2000 });
        closers.push(() => ingress.closeAll());
        const port = await ingress.open(1n, 80, { upstream: () => upstreams(up.port)[kind] }, 0, mode);
        for (let round = 0; round < 3; round++) {
          // Clients cut at each point, on a healthy answer and on each of the upstream's faults, all at once.
          const runs: Promise<string>[] = [];
          for (const path of ["/ok", "/reset-early", "/reset-mid", "/hang"])
            for (const cut of cuts) runs.push(client(port, path, cut));
          // Upstream faults with a client that does not cut (/hang: cut by the client after the request).
          runs.push(client(port, "/reset-early"), client(port, "/reset-mid"));
          await within(Promise.all(runs), 30_000, "every cut connection to close");
          // Still serving: a whole answer.
          expect(await client(port, "/ok")).to.match(/helloworld$/);
        }
        // Nothing left open: every cut connection gave back its client's place (and its upstream its socket).
        await waitFor(
          "every connection to be closed",
          () => (ingress.openConnections === 0 ? true : undefined),
          10_000,
        );
        // Every upstream request whose client went was abandoned, not left waiting (pooled idle ones may stay).
        await waitFor("every hanging upstream to be closed", () => (up.hanging.size === 0 ? true : undefined), 10_000);
        expect(uncaught).to.deep.equal([]);
      });
});
