/**
 * UDP services through the yard: datagrams from clients reach the container through the ingress (one session per
 * client address, replies back to the sender), and after a migration the redirection stub carries them as
 * framed datagrams over the encrypted tunnel to the new yard — for a service, and for a lease that names none.
 */
import { expect } from "chai";
import dgram from "node:dgram";
import { readdir } from "node:fs/promises";
import { DatagramDeframer as Deframer, frameDatagram, setRouting, signLeaseAccess } from "../../../protocol/index.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { UdpIngress, type UdpRoute } from "../../../yard-node/udp.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { ECHO_IMAGE, waitFor } from "../../helpers/docker.ts";
import { Tenant, USD, type TestMarket } from "../../../scripts/lib/testbed.ts";

const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;

/** Sends `text` from a fresh UDP socket to host:port and resolves with the first reply (or rejects on timeout). */
function ask(endpoint: string, text: string, timeoutMs = 2000): Promise<string> {
  const [host, port] = [endpoint.split(":")[0]!, Number(endpoint.split(":")[1])];
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP reply from ${endpoint}`));
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(m.toString());
    });
    s.send(text, port, host);
  });
}

describe("datagram framing", () => {
  it("splits a byte stream back into the datagrams, however it is chunked", () => {
    const ds = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(70_000 - 4465, 7), Buffer.from("last")];
    const wire = Buffer.concat(ds.map((d) => frameDatagram(d)));
    for (const step of [1, 3, 1000, wire.length]) {
      const out: Buffer[] = [];
      const f = new Deframer();
      for (let i = 0; i < wire.length; i += step) f.push(wire.subarray(i, i + step), (d) => out.push(Buffer.from(d)));
      expect(out.map((d) => d.toString("hex"))).to.deep.equal(ds.map((d) => d.toString("hex")));
    }
    expect(() => frameDatagram(Buffer.alloc(70_000))).to.throw(RangeError);
  });
});

/** Open file descriptors of this process (Linux). */
async function openFds(): Promise<number> {
  return (await readdir("/proc/self/fd")).length;
}

/**
 * A UDP source bound to `address` (any 127.x address is this host's on Linux) that asks through `port` and waits
 * for the echo, asking again up to `tries` times: a loopback socket buffer may drop datagrams under a flood.
 */
class Source {
  readonly socket = dgram.createSocket("udp4");
  #waiting: ((m: string) => void) | undefined;
  readonly address: string;
  constructor(address: string) {
    this.address = address;
    this.socket.on("error", () => {});
    this.socket.on("message", (m) => this.#waiting?.(m.toString()));
  }
  bind(): Promise<void> {
    return new Promise((resolve) => this.socket.bind(0, this.address, () => resolve()));
  }
  ask(port: number, text: string, tries = 4, timeoutMs = 1000): Promise<string | undefined> {
    return new Promise((resolve) => {
      let t: NodeJS.Timeout;
      const attempt = (n: number): void => {
        if (n === 0) {
          this.#waiting = undefined;
          resolve(undefined);
          return;
        }
        this.socket.send(text, port, "127.0.0.1");
        t = setTimeout(() => attempt(n - 1), timeoutMs);
      };
      this.#waiting = (m) => {
        clearTimeout(t);
        this.#waiting = undefined;
        resolve(m);
      };
      attempt(tries);
    });
  }
  close(): void {
    this.socket.close();
  }
}

describe("UDP ingress on loopback: sessions are bounded per client, per port and in all", function () {
  this.timeout(120_000);
  let echo: dgram.Socket;
  let echoPort: number;
  const route = (): UdpRoute => ({ upstream: () => ({ kind: "local", host: "127.0.0.1", port: echoPort }) });
  const sources: Source[] = [];
  let udp: UdpIngress | undefined;

  before(async () => {
    // The container's stand-in: echoes each datagram prefixed with the port it came from (one per session).
    echo = dgram.createSocket("udp4");
    echo.on("message", (m, r) => echo.send(`${r.port}:${m.toString()}`, r.port, r.address));
    await new Promise<void>((resolve) => echo.bind(0, "127.0.0.1", () => resolve()));
    echoPort = echo.address().port;
  });
  afterEach(async () => {
    await udp?.closeAll();
    udp = undefined;
    for (const s of sources.splice(0)) s.close();
  });
  after(() => echo.close());

  /** `n` sources spread over `addresses` addresses 127.0.<net>.1… */
  async function makeSources(n: number, addresses: number, net = 1): Promise<Source[]> {
    const made = Array.from({ length: n }, (_, i) => new Source(`127.0.${net}.${(i % addresses) + 1}`));
    await Promise.all(made.map((s) => s.bind()));
    sources.push(...made);
    return made;
  }

  it("a flood from 2000 source ports keeps the yard's sockets at the cap, and a well-behaved client still gets its echo", async () => {
    udp = new UdpIngress("127.0.0.1", { idleMs: 60_000, sessionsPerClient: 16, sessionsPerPort: 200, sessions: 400 });
    const port = await udp.open(1n, 5353, route());
    const flood = await makeSources(2000, 100);
    const [client] = await makeSources(1, 1, 9);
    const before = await openFds();
    let echoed = 0;
    let clientEchoes = 0;
    // In batches (each source waits for its echo), so that the loopback buffers do not simply drop the flood.
    for (let i = 0; i < flood.length; i += 100) {
      const replies = await Promise.all(flood.slice(i, i + 100).map((s) => s.ask(port, "flood")));
      echoed += replies.filter((r) => r !== undefined).length;
      if ((await client!.ask(port, "hello"))?.endsWith(":hello")) clientEchoes++;
      // Sockets the yard holds for sessions: never more than the port's cap.
      expect((await openFds()) - before).to.be.at.most(200 + 4);
    }
    expect(echoed).to.be.greaterThan(1900);
    expect(clientEchoes).to.equal(20);
    expect(udp.sessions).to.equal(200);
    expect(udp.stats().evicted.port).to.be.at.least(2000 - 200);
  });

  it("a client over its own cap recycles its own idlest sessions; other clients' sessions stay", async () => {
    udp = new UdpIngress("127.0.0.1", { idleMs: 60_000, sessionsPerClient: 8, sessionsPerPort: 100, sessions: 100 });
    const port = await udp.open(1n, 5353, route());
    const others = await makeSources(6, 3, 2);
    const first = await Promise.all(others.map((s) => s.ask(port, "a")));
    const spray = await makeSources(200, 1, 3);
    // In batches of its cap (a client that has more in flight than its cap loses its own sessions' answers).
    for (let i = 0; i < spray.length; i += 8) await Promise.all(spray.slice(i, i + 8).map((s) => s.ask(port, "x")));
    expect(udp.sessions).to.equal(6 + 8);
    const { evicted } = udp.stats();
    // (at least: a datagram lost on a busy machine is asked again, and may land after its session was recycled)
    expect(evicted.client).to.be.at.least(200 - 8);
    expect([evicted.port, evicted.total]).to.deep.equal([0, 0]);
    // The same upstream socket (the port the echo saw) still carries each other client's datagrams.
    const again = await Promise.all(others.map((s) => s.ask(port, "a")));
    expect(again).to.deep.equal(first);
  });

  it("the total cap holds across ports, evicting from the fullest port", async () => {
    udp = new UdpIngress("127.0.0.1", { idleMs: 60_000, sessionsPerClient: 64, sessionsPerPort: 150, sessions: 200 });
    const ports = [await udp.open(1n, 53, route()), await udp.open(2n, 53, route())];
    const flood = await makeSources(300, 10, 4);
    const before = await openFds();
    for (const port of ports)
      for (let i = 0; i < flood.length; i += 100)
        await Promise.all(flood.slice(i, i + 100).map((s) => s.ask(port, "x")));
    expect(udp.sessions).to.equal(200);
    expect((await openFds()) - before).to.be.at.most(200 + 4);
    expect(udp.stats().evicted.total).to.be.greaterThan(0);
  });

  it("closes idle sessions (and their sockets) after idleMs, within one more sweep", async () => {
    udp = new UdpIngress("127.0.0.1", { idleMs: 1000 });
    const port = await udp.open(1n, 53, route());
    const flood = await makeSources(50, 5, 5);
    const before = await openFds();
    await Promise.all(flood.map((s) => s.ask(port, "x")));
    const t0 = Date.now();
    expect(udp.sessions).to.equal(50);
    expect((await openFds()) - before).to.be.at.least(50);
    await new Promise((r) => setTimeout(r, 400));
    expect(udp.sessions).to.equal(50); // (a busy machine may delay the sweep, never hasten it)
    await waitFor("idle sessions to close", () => (udp!.sessions === 0 ? true : undefined), 20_000);
    expect(Date.now() - t0).to.be.at.least(1000);
    expect((await openFds()) - before).to.be.at.most(4);
  });
});

describe("UDP services through yards (ingress and stub over the tunnel)", function () {
  this.timeout(180_000);
  const two = useTwoYards("udp", { overrides: { lease: FAST_LEASE }, log, stopFirst: () => [tenant] });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let tenant: Tenant;
  let image: string;

  before(async () => {
    ({ m, a, b } = two.get());
    tenant = await Tenant.create(m, 2, 3, USD(100));
    image = await two.imageId(ECHO_IMAGE);
  });

  /** An echo lease at A, then one at B and the stub at A: `service` undefined for leases that name none. */
  async function echoMigration(service: string | undefined): Promise<void> {
    const spec = (prefix: string) => ({
      imageRef: ECHO_IMAGE,
      ports: [],
      udpPorts: [5353],
      env: [`ECHO_PREFIX=${prefix}`],
      ...(service ? { service } : {}),
    });
    const old = await tenant.lease(a.node.getMultiaddrs()[0]!, image, { slotSeconds: 60 }, spec("A:"));
    const port = a.db.lease(old.leaseId)!.ingress["udp/5353"]!;
    const endpoint = `127.0.0.1:${port}`;
    expect(await waitFor("an echo from A", () => ask(endpoint, "hello", 500).catch(() => undefined), 10_000)).to.equal(
      "A:hello",
    );
    expect(a.overlay.flows(old.leaseId).snapshot()[0]!.requests).to.be.greaterThan(0);

    const neu = await tenant.lease(b.node.getMultiaddrs()[0]!, image, { slotSeconds: 60 }, spec("B:"));
    const access = await signLeaseAccess(tenant.icon, tenant.owner.domain(), old.leaseId, tenant.node.peerId);
    await setRouting(tenant.node, a.node.getMultiaddrs()[0]!, {
      access,
      stub: {
        yard: b.node.peerId.toString(),
        addrs: b.node.getMultiaddrs().map(String),
        instanceId: neu.leaseId,
        endpoint: `127.0.0.1:${b.db.lease(neu.leaseId)!.ingress["udp/5353"]}`,
        graceS: 60,
      },
    });
    // A new client session at the old endpoint now reaches the new instance, through the encrypted tunnel.
    const opened = a.tunnels.stats().opened;
    expect(
      await waitFor("an echo from B via A", () => ask(endpoint, "moved", 1000).catch(() => undefined), 10_000),
    ).to.equal("B:moved");
    expect(a.tunnels.stats().opened).to.be.greaterThan(opened);
  }

  it("carries datagrams to the container and back, then to the new yard through the stub", () =>
    echoMigration(tenant.service("shop", "echo")));

  it("forwards a lease that names no service through its stub too (the tunnel addresses it by lease id)", () =>
    echoMigration(undefined));
});
