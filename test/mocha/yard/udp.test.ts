/**
 * UDP services through the yard: datagrams from clients reach the container through the ingress (one session per
 * client address, replies back to the sender), and after a migration the redirection stub carries them as
 * framed datagrams over the encrypted tunnel to the new yard — for a service, and for a lease that names none.
 */
import { expect } from "chai";
import dgram from "node:dgram";
import { setRouting, signLeaseAccess } from "../../../protocol/index.ts";
import { FAST_LEASE, startTestYard } from "../../helpers/yard.ts";
import { createLogger, silentLogger } from "../../../yard-node/log.ts";
import { Deframer, frameDatagram } from "../../../yard-node/udp.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { ECHO_IMAGE, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { Tenant, USD, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

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

describe("UDP services through yards (ingress and stub over the tunnel)", function () {
  this.timeout(180_000);
  after(async () => {
    await tenant?.stop();
    await a?.stop();
    await b?.stop();
    await m?.close();
  });
  // (registered before useDockerYard: mocha runs after-hooks in order, so the yards stop before the
  // engine cleanup, and a yard still running cannot recreate containers behind it)
  const docker = useDockerYard("udp");
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let tenant: Tenant;
  let image: string;

  before(async () => {
    m = await startMarket();
    a = await startTestYard(m, 1, docker.get().yardId, { lease: FAST_LEASE }, log);
    b = await startTestYard(m, 5, docker.make("udpb").yardId, { lease: FAST_LEASE }, log);
    tenant = await Tenant.create(m, 2, 3, USD(100));
    image = "0x" + (await docker.get().runtime.imageId(ECHO_IMAGE))!.slice(7);
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
