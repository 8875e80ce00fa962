/**
 * The yard's host firewall (yard-node/firewall.ts):
 *  - HostFirewall with a fake `nft`: the table's script, allowed triples kept across re-installs, the reasons of
 *    failures (`nft` missing, not permitted);
 *  - a real yard (embedded chain, real Docker, nftables, root): from inside a leased busybox container, a TCP
 *    listener the test opens on 0.0.0.0 of the host is unreachable through the bridge's gateway, another address
 *    of the host and a ServiceIP of the yard, while semantic-name DNS and the ServiceIP connection to the service
 *    still work, and so do the ingress (TCP) and UDP replies; the table stays while the yard is stopped and its
 *    containers run (removed by hand, the same container then reaches the listener: the probe itself is sound),
 *    and goes at stop when no container is left;
 *  - a yard whose `nft` is not permitted logs one warning and runs on without the table.
 */
import { expect } from "chai";
import type Docker from "dockerode";
import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { IconError } from "../../../protocol/errors.ts";
import { FAST_LEASE, startTestYard } from "../../helpers/yard.ts";
import { HostFirewall } from "../../../yard-node/firewall.ts";
import { createLogger, silentLogger } from "../../../protocol/log.ts";
import { overlaps } from "../../../yard-node/overlay/addresses.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { BUSYBOX_IMAGE, ECHO_IMAGE, WEB_IMAGE, execIn, useDockerYard, waitFor } from "../../helpers/docker.ts";
import { Tenant, USD, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";

const run = promisify(execFile);
const log = process.env.ICON_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger;
// In the tenant's namespace shop.r<root> (set once its application exists).
let WEB = "";
let CLIENT = "";

/** A fake `nft`: records scripts; fails with `fail` when set. */
function fakeNft(): { scripts: string[]; fail?: Error; run(script: string): Promise<void> } {
  const f = {
    scripts: [] as string[],
    fail: undefined as Error | undefined,
    async run(script: string): Promise<void> {
      if (f.fail) throw f.fail;
      f.scripts.push(script);
    },
  };
  return f;
}

async function rejection(p: Promise<unknown>): Promise<IconError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(IconError);
    return e as IconError;
  }
  expect.fail("expected a rejection");
}

/** A shell line sending one line to host:port with busybox nc (2 s to connect); prints `<label>=<nc's rc>`. */
const probe = (label: string, host: string, port: number | string): string =>
  `echo probe | nc -w 2 ${host} ${port} >/dev/null 2>&1; echo "${label}=$?"`;

/** The value printed as `<label>=<value>` by a script. */
const printed = (out: string, label: string): string | undefined => new RegExp(`^${label}=(.*)$`, "m").exec(out)?.[1];

async function tables(): Promise<string[]> {
  const { stdout } = await run("nft", ["list", "tables"]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.trim());
}

describe("HostFirewall (fake nft)", () => {
  it("installs one table for the bridge with the allowed triples, adds later ones, removes it", async () => {
    const nft = fakeNft();
    const fw = new HostFirewall({ yardId: "edge-a", nft: nft.run });
    expect(fw.table).to.equal("icon-yard-edge-a");
    await fw.allow({ ip: "172.18.0.1", proto: "udp", port: 53 });
    expect(nft.scripts, "nothing runs before the table is installed").to.deep.equal([]);
    await fw.install("br-0123456789ab");
    const s = nft.scripts[0]!;
    expect(s).to.match(
      /^table inet icon-yard-edge-a\ndelete table inet icon-yard-edge-a\ntable inet icon-yard-edge-a \{/,
    );
    expect(s).to.include('iifname != "br-0123456789ab" accept');
    expect(s).to.include("ct state established,related accept");
    expect(s).to.include("elements = { 172.18.0.1 . udp . 53 }");
    expect(s).to.include("ip daddr . meta l4proto . th dport @allowed accept");
    expect(s.trim().split("\n").at(-3)!.trim(), "the chain ends by dropping").to.equal("counter drop");
    await fw.allow({ ip: "10.233.7.1", proto: "tcp", port: 8080 });
    await fw.allow({ ip: "10.233.7.1", proto: "tcp", port: 8080 });
    expect(nft.scripts.slice(1)).to.deep.equal([
      "add element inet icon-yard-edge-a allowed { 10.233.7.1 . tcp . 8080 }\n",
    ]);
    // A new bridge (the network was re-created): the table is replaced with everything allowed so far.
    await fw.install("br-ba9876543210");
    expect(nft.scripts[2]).to.include("elements = { 172.18.0.1 . udp . 53, 10.233.7.1 . tcp . 8080 }");
    expect(nft.scripts[2]).to.include('iifname != "br-ba9876543210" accept');
    await fw.remove();
    expect(nft.scripts[3]).to.equal("table inet icon-yard-edge-a\ndelete table inet icon-yard-edge-a\n");
    expect(fw.bridge).to.equal(undefined);
  });

  it("says why it failed: nft missing, not permitted; refuses bad names and triples", async () => {
    const nft = fakeNft();
    const fw = new HostFirewall({ yardId: "edge-a", nft: nft.run });
    nft.fail = Object.assign(new Error("spawn nft ENOENT"), { code: "ENOENT" });
    let e = await rejection(fw.install("br-0123456789ab"));
    expect(e.code).to.equal("HOST_FIREWALL_FAILED");
    expect(e.message).to.match(/`nft` program is not installed \(Debian package nftables\)/);
    nft.fail = Object.assign(new Error("exit 1"), {
      stderr: "Error: Could not process rule: Operation not permitted\n",
    });
    e = await rejection(fw.install("br-0123456789ab"));
    expect(e.message).to.match(/not permitted \(nftables needs CAP_NET_ADMIN, i\.e\. root\)/);
    expect(fw.bridge).to.equal(undefined);
    expect((await rejection(fw.install("br-x; flush ruleset"))).code).to.equal("BAD_DEVICE");
    expect((await rejection(fw.allow({ ip: "10.0.0.1 } ; flush", proto: "tcp", port: 1 }))).code).to.equal(
      "BAD_ALLOWED",
    );
    expect(() => new HostFirewall({ yardId: "Edge A" })).to.throw(/cannot name an nftables table/);
  });
});

describe("host firewall of a yard: containers cannot reach host-local services (real container)", function () {
  this.timeout(180_000);
  // Registered before useDockerYard's hooks so that it runs first (a yard still running would recreate containers
  // behind the cleanup).
  after(async () => {
    await tenant?.stop();
    await a?.stop();
    await c?.stop();
    await m?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
    if (fakeBin) await rm(fakeBin, { recursive: true, force: true });
  });
  const yards = useDockerYard("fw");
  let m: TestMarket;
  let a: Yard;
  let c: Yard | undefined;
  let tenant: Tenant;
  let docker: Docker;
  let listener: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  let fakeBin: string | undefined;
  const cidr = `10.233.${100 + (process.pid % 50)}.0/24`;
  const start = (key: number, yardId: string, logger = log): Promise<Yard> =>
    startTestYard(
      m,
      key,
      yardId,
      {
        lease: FAST_LEASE,
        capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 256 },
        overlay: { serviceCidr: cidr },
      },
      logger,
    );

  before(async () => {
    m = await startMarket();
    a = await start(1, yards.get().yardId);
    expect(a.addressing, "semantic addressing (needs root)").to.not.equal(undefined);
    tenant = await Tenant.create(m, 2, 3, USD(200));
    [WEB, CLIENT] = [tenant.service("shop", "web"), tenant.service("shop", "client")];
    docker = yards.get().docker;
  });

  it("drops a container's connections to the host except DNS and the yard's service addresses", async () => {
    const table = `table inet icon-yard-${yards.get().yardId}`;
    expect(await tables()).to.include(table);
    expect(a.firewall?.table).to.equal(`icon-yard-${yards.get().yardId}`);
    const imageId = async (ref: string) => "0x" + (await yards.get().runtime.imageId(ref))!.slice(7);
    const [web, busybox, echo] = await Promise.all([imageId(WEB_IMAGE), imageId(BUSYBOX_IMAGE), imageId(ECHO_IMAGE)]);
    const addr = a.node.getMultiaddrs()[0]!;
    const site = await tenant.lease(addr, web, { slotSeconds: 120 }, { ports: [8080], service: WEB });
    const client = await tenant.lease(
      addr,
      busybox,
      { slotSeconds: 120 },
      { command: ["sleep", "600"], ports: [], service: CLIENT },
    );
    const udp = await tenant.lease(
      addr,
      echo,
      { slotSeconds: 120 },
      { imageRef: ECHO_IMAGE, ports: [], udpPorts: [5353], env: ["ECHO_PREFIX=fw:"] },
    );
    await waitFor("the client container to run", () =>
      a.status().leases.find((x) => x.id === String(client.leaseId) && x.running),
    );
    const container = a.db.lease(client.leaseId)!.containerId!;

    // A host service on 0.0.0.0 (every address of the host), reachable from the host itself.
    let accepted = 0;
    listener = net.createServer((s) => {
      accepted++;
      sockets.add(s);
      s.on("error", () => {});
      s.end("host-secret\n");
    });
    await new Promise<void>((resolve) => listener!.listen(0, "0.0.0.0", () => resolve()));
    const port = (listener.address() as net.AddressInfo).port;
    const fromHost = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1");
      let text = "";
      s.on("data", (d: Buffer) => (text += d.toString()));
      s.on("close", () => resolve(text));
      s.on("error", reject);
    });
    expect(fromHost).to.equal("host-secret\n");
    accepted = 0;

    const { gateway, subnet } = await yards.get().runtime.networkInfo();
    // Another address of the host, outside the container network (e.g. eth0's).
    const other = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal && !overlaps(`${i.address}/32`, subnet))?.address;
    const script = [
      `ip=$(nslookup -type=a ${WEB}.any.rr.icon 2>/dev/null | awk '/^Address: /{print $2}' | tail -1); echo "vip=$ip"`,
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $ip 8080 | grep -c icon-web-ok | sed 's/^/service=/'`,
      probe("gateway", gateway, port),
      probe("vipport", "$ip", port),
      ...(other ? [probe("other", other, port)] : []),
    ].join("\n");
    const { out } = await execIn(docker, container, script);
    const vip = printed(out, "vip") ?? "";
    expect(overlaps(`${vip}/32`, cidr), `semantic DNS answered with a ServiceIP of ${cidr}\n${out}`).to.equal(true);
    expect(printed(out, "service"), `the ServiceIP connection reached the service\n${out}`).to.equal("1");
    expect(printed(out, "gateway"), `the host service via the gateway\n${out}`).to.not.equal("0");
    expect(printed(out, "vipport"), `the host service via the ServiceIP\n${out}`).to.not.equal("0");
    if (other) expect(printed(out, "other"), `the host service via ${other}\n${out}`).to.not.equal("0");
    expect(accepted, "connections the host service accepted from the container").to.equal(0);

    // What the host opens towards containers still works: the TCP ingress, and UDP through the ingress (replies).
    expect(await (await fetch(`http://${site.endpoint}/`)).text()).to.include("icon-web-ok");
    const udpEndpoint = `127.0.0.1:${a.db.lease(udp.leaseId)!.ingress["udp/5353"]}`;
    const echoed = await waitFor(
      "a UDP echo through the ingress",
      () => udpAsk(udpEndpoint, "hi").catch(() => undefined),
      10_000,
    );
    expect(echoed).to.equal("fw:hi");

    // The yard stops; its containers keep running, and so does their table: the probe is still refused.
    await a.stop();
    expect(await tables()).to.include(table);
    const stopped = await execIn(docker, container, probe("gateway", gateway, port));
    expect(printed(stopped.out, "gateway"), stopped.out).to.not.equal("0");
    expect(accepted).to.equal(0);
    // Without the table the same probe gets through: the probe tests the firewall, not something else.
    await new HostFirewall({ yardId: yards.get().yardId }).remove();
    expect(await tables()).to.not.include(table);
    const open = await execIn(docker, container, probe("gateway", gateway, port));
    expect(printed(open.out, "gateway"), open.out).to.equal("0");
    expect(accepted).to.equal(1);
  });

  it("removes its table at stop when none of its containers is left, and at start when the firewall is off", async () => {
    const yardId = yards.make("fwd").yardId;
    const d = await start(6, yardId);
    try {
      expect(await tables()).to.include(`table inet icon-yard-${yardId}`);
    } finally {
      await d.stop();
    }
    expect(await tables()).to.not.include(`table inet icon-yard-${yardId}`);
    // A table an earlier run left behind goes when the yard starts with the firewall turned off.
    await new HostFirewall({ yardId }).install("icon-leftover0");
    expect(await tables()).to.include(`table inet icon-yard-${yardId}`);
    const e = await startTestYard(m, 6, yardId, { lease: FAST_LEASE, docker: { hostFirewall: false } }, log);
    try {
      expect(await tables()).to.not.include(`table inet icon-yard-${yardId}`);
      expect(e.firewall).to.equal(undefined);
    } finally {
      await e.stop();
    }
  });

  it("without permission for nft the yard warns once and runs on without the table", async () => {
    fakeBin = await mkdtemp(path.join(tmpdir(), "icon-fake-nft-"));
    const fake = path.join(fakeBin, "nft");
    await writeFile(fake, "#!/bin/sh\necho 'Error: Could not process rule: Operation not permitted' >&2\nexit 1\n");
    await chmod(fake, 0o755);
    const lines: string[] = [];
    const capture = createLogger({ level: "warn", write: (l) => lines.push(l) });
    const yardId = yards.make("fwc").yardId;
    const path0 = process.env.PATH;
    process.env.PATH = `${fakeBin}:${path0}`;
    try {
      c = await start(5, yardId, capture);
    } finally {
      process.env.PATH = path0;
    }
    const warnings = lines.filter((l) => /firewall/.test(l));
    expect(warnings, lines.join("")).to.have.length(1);
    expect(warnings[0]).to.match(/containers can reach every service of this host/);
    expect(warnings[0]).to.match(/not permitted/);
    expect(c.firewall).to.equal(undefined);
    expect(await tables()).to.not.include(`table inet icon-yard-${yardId}`);
    expect(c.status().docker.up).to.equal(true);
  });
});

/** Sends `text` from a fresh UDP socket to host:port; resolves with the first reply (rejects after 1 s). */
function udpAsk(endpoint: string, text: string): Promise<string> {
  const [host, port] = [endpoint.split(":")[0]!, Number(endpoint.split(":")[1])];
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP reply from ${endpoint}`));
    }, 1000);
    s.on("message", (msg) => {
      clearTimeout(t);
      s.close();
      resolve(msg.toString());
    });
    s.send(text, port, host);
  });
}
