/**
 * The overlay end to end across two yards (embedded chain, real libp2p, real Docker, real containers):
 *  - routing policies for a service with instances at both yards, seen from a container (semantic DNS → ServiceIP /
 *    InstanceIP → the yard's listener → local container or encrypted tunnel) and through `overlay.connect`;
 *  - namespace isolation: a container of another namespace is refused (locally and by the remote yard through the
 *    tunnel) until the target opens itself with an allow rule;
 *  - route churn: an instance ends (terminated on chain; its yard's push arrives, or is lost) or dies (container
 *    killed) and the next connection still reaches a live instance, with at most one retry;
 *  - UDP between services: datagrams to a ServiceIP go to instances at both yards by policy (the remote one as
 *    framed datagrams through the tunnel), an InstanceIP pins one, another namespace gets no reply;
 *  - a raw TCP migration under load through a redirection stub (tunnel to the new yard): zero failed requests, for
 *    a service and for a lease that names no service (its tunnels address the new instance by lease id).
 * Each instance serves a page naming itself (`inst-<tag>`), so every answer says which instance gave it.
 */
import { expect } from "chai";
import type Docker from "dockerode";
import { createIconNode, setRouting, signLeaseAccess, type LeaseAccess } from "../../../protocol/index.ts";
import { FAST_LEASE, useTwoYards } from "../../helpers/yard.ts";
import { createLogger } from "../../../protocol/log.ts";
import { overlaps } from "../../../yard-node/overlay/addresses.ts";
import { TunnelManager } from "../../../yard-node/overlay/tunnel.ts";
import { Yard } from "../../../yard-node/yard.ts";
import { BUSYBOX_IMAGE, ECHO_IMAGE, WEB_IMAGE, execIn, waitFor } from "../../helpers/docker.ts";
import { Tenant, USD, clientFor, type TestMarket } from "../../../scripts/lib/testbed.ts";
import { getOver, rawGet } from "../../helpers/net.ts";

// The yards' warnings are printed (a few are expected: killed containers, leases ended before their start), so
// that a failure in CI says what the yards saw.
const log = createLogger({ level: process.env.ICON_TEST_LOG ? "debug" : "warn" });

// Service names are in their application's namespace, shop.r<root> and evil.r<root> (set once the apps exist).
let WEB = "";
let CLIENT = "";
let EVIL = "";
let OPEN = "";
let CHURN = "";
let MIG = "";
let UDP = "";
/** A RegExp matching `text` literally. */
const literally = (text: string): RegExp => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

/** A web container whose page is `inst-<tag>` (the rootfs is read-only; /tmp is a tmpfs). */
const page = (tag: string): string[] => [
  "sh",
  "-c",
  `mkdir -p /tmp/w && echo inst-${tag} > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w`,
];

/** The instance tags in a text, in order. */
const tags = (text: string): string[] => [...text.matchAll(/inst-([a-z0-9-]+)/g)].map((m) => m[1]!);

/** How many times each tag occurs. */
function count(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of list) out[t] = (out[t] ?? 0) + 1;
  return out;
}

/** A shell line resolving `name` through the container's DNS into $ip (the last `Address: ` line). */
const resolveLine = (name: string): string =>
  `ip=$(nslookup -type=a ${name} 2>/dev/null | awk '/^Address: /{print $2}' | tail -1); echo "ip=$ip"`;

/** A shell loop of `n` HTTP/1.0 requests (a new TCP connection each) to $ip:8080 with busybox nc; rc is nc's. */
const getLoop = (n: number): string =>
  `set -o pipefail; for i in $(seq ${n}); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $ip 8080 | tail -c 64; echo " rc=$?"; done`;

describe("overlay end to end: policies, namespaces, churn, TCP migration (two yards, real containers)", function () {
  this.timeout(120_000);
  const cidrA = `10.233.${200 + (process.pid % 25)}.0/24`;
  const cidrB = `10.233.${225 + (process.pid % 25)}.0/24`;
  const two = useTwoYards("ovle2e", {
    log,
    stopFirst: () => [tenant, evilTenant],
    start: async ({ idA, idB, yard }) => {
      const over = (overlay: Record<string, unknown>) => ({
        lease: FAST_LEASE,
        capacity: { cpuMillis: 4000, memoryMiB: 4096, pidsPerLease: 256 },
        overlay,
      });
      // B first: A asks B about routes (B learns A from A's connection and pushes changes back to it).
      const b = await yard(5, idB, over({ serviceCidr: cidrB }));
      return { b, a: await yard(1, idA, over({ serviceCidr: cidrA, peers: [addrOf(b).toString()] })) };
    },
  });
  let m: TestMarket;
  let a: Yard;
  let b: Yard;
  let tenant: Tenant;
  /** Another application's tenant: the namespace isolation's outsider. */
  let evilTenant: Tenant;
  let web: string;
  let busybox: string;
  let docker: Docker;
  /** Lease ids by instance tag. */
  const ids = new Map<string, bigint>();
  const id = (tag: string): bigint => ids.get(tag)!;
  let clientLease: bigint;

  const access = (leaseId: bigint): Promise<LeaseAccess> =>
    signLeaseAccess(tenant.icon, tenant.owner.domain(), leaseId, tenant.node.peerId);
  const addrOf = (y: Yard) => y.node.getMultiaddrs()[0]!;

  /**
   * Leases a web instance of `service` (none: a lease that names no service) at yard `y` serving `inst-<tag>`;
   * waits until it answers at its ingress.
   */
  async function instance(
    y: Yard,
    service: string | undefined,
    tag: string,
    o: { allow?: string[] } = {},
  ): Promise<{ leaseId: bigint; endpoint: string }> {
    const l = await tenant.lease(
      addrOf(y),
      web,
      { slotSeconds: 180 },
      { command: page(tag), ports: [8080], service, ...(o.allow ? { allow: o.allow } : {}) },
    );
    ids.set(tag, l.leaseId);
    await waitFor(`instance ${tag} to answer`, async () => tags(await rawGet(l.endpoint, 2000))[0] === tag, 20_000);
    return l;
  }

  /** Leases a busybox container of `service` at yard A that only sleeps (a client to exec in). */
  async function sleeper(service: string, t: Tenant = tenant): Promise<bigint> {
    const l = await t.lease(
      addrOf(a),
      busybox,
      { slotSeconds: 180 },
      { command: ["sleep", "600"], ports: [], service },
    );
    await waitFor(
      `the ${service} container to run`,
      () => a.status().leases.find((x) => x.id === String(l.leaseId))?.running,
    );
    return l.leaseId;
  }

  const containerOf = (y: Yard, leaseId: bigint): string => y.db.lease(leaseId)!.containerId!;

  /** One request through `a.overlay.connect`; the tag of the instance that answered. */
  async function viaConnect(service: string, policy: string, o: { from?: string; instanceId?: bigint } = {}) {
    const d = await a.overlay.connect(service, policy, 8080, {
      client: "127.0.0.1",
      from: CLIENT,
      fromInstance: clientLease,
      ...o,
    });
    return tags(await getOver(d))[0];
  }

  before(async () => {
    ({ m, a, b } = two.get());
    expect(a.addressing, "semantic addressing on A (needs root)").to.not.equal(undefined);
    tenant = await Tenant.create(m, 2, 3, USD(200));
    evilTenant = await Tenant.create(m, 8, 9, USD(200));
    [WEB, CLIENT, OPEN, CHURN, MIG, UDP] = ["web", "client", "open", "churn", "mig", "udp"].map((s) =>
      tenant.service("shop", s),
    ) as [string, string, string, string, string, string];
    EVIL = evilTenant.service("evil", "x");
    docker = two.get().engine.docker;
    web = await two.imageId(WEB_IMAGE);
    busybox = await two.imageId(BUSYBOX_IMAGE);
    // Service shop.r<root>.web.prod: two instances at A, one at B; a client container of its namespace at A.
    await Promise.all([
      (async () => {
        await instance(a, WEB, "a1");
        await instance(a, WEB, "a2");
        clientLease = await sleeper(CLIENT);
      })(),
      instance(b, WEB, "b1"),
    ]);
  });

  it("policies across yards: rr spreads evenly over 3 instances, closest stays local, <id>.none pins (from a container)", async () => {
    const tunnels0 = a.tunnels.stats().opened;
    const script = [
      resolveLine(`${WEB}.any.rr.icon`),
      'echo "rr=$ip"',
      getLoop(30),
      resolveLine(`${WEB}.any.closest.icon`),
      'echo "closest=$ip"',
      getLoop(6),
      resolveLine(`${WEB}.${id("b1")}.none.icon`),
      'echo "pinned=$ip"',
      getLoop(4),
      // A policy the yard does not have gets no address (and takes none of the range).
      resolveLine(`${WEB}.any.nosuchpolicy.icon`),
      'echo "unknown-policy=$ip"',
    ].join("\n");
    const { out, code } = await execIn(docker, containerOf(a, clientLease), script);
    expect(code, out).to.equal(0);
    const sections = out.split(/^(?:closest|pinned)=/m);
    expect(out).to.match(/^unknown-policy=$/m);
    const vips = [...out.matchAll(/^(rr|closest|pinned)=(\S*)$/gm)].map((x) => x[2]!);
    expect(vips, out).to.have.length(3);
    for (const v of vips) expect(overlaps(`${v}/32`, cidrA), `${v} in ${cidrA}\n${out}`).to.equal(true);
    expect(new Set(vips).size, "one virtual address per (service, policy) and per instance").to.equal(3);
    const [rr, closest, pinned] = sections.map(tags);
    expect(count(rr!), out).to.deep.equal({ a1: 10, a2: 10, b1: 10 });
    expect(closest, out).to.have.length(6);
    expect(new Set(closest), "closest: one local instance, never B's").to.deep.equal(new Set(["a1"]));
    expect(pinned, out).to.deep.equal(["b1", "b1", "b1", "b1"]);
    expect(out).to.not.match(/rc=[1-9]/);
    // B's instance was reached through the encrypted tunnel; A's listener forwarded every connection.
    expect(a.tunnels.stats().opened - tunnels0).to.be.at.least(14);
    expect(a.addressing!.forwarded).to.be.at.least(40);
    // The same through overlay.connect: even rr, pinning A's second instance.
    const direct: string[] = [];
    for (let i = 0; i < 9; i++) direct.push((await viaConnect(WEB, "rr"))!);
    expect(count(direct)).to.deep.equal({ a1: 3, a2: 3, b1: 3 });
    expect(await viaConnect(WEB, "none", { instanceId: id("a2") })).to.equal("a2");
    expect(await viaConnect(WEB, "closest")).to.equal("a1");
  });

  it("a tunnel's client counts only from an active yard; another peer's tunnel counts under its own address", async () => {
    const target = id("b1");
    const requests = (subnet: string): number =>
      b.overlay
        .flows(target)
        .snapshot()
        .find((f) => f.subnet === subnet)?.requests ?? 0;
    const untrusted = (): number =>
      Number(/^icon_yard_tunnels_untrusted_client_total (\d+)$/m.exec(b.metrics.render())?.[1] ?? NaN);
    const header = (client: string) => ({ service: WEB, instanceId: target, port: 8080, client });
    const stranger = await createIconNode(); // in no registry listing
    const strangerTunnels = new TunnelManager(stranger, { resolve: async () => ({ error: "serves no tunnels" }) });
    await strangerTunnels.start();
    try {
      const [loopback, before] = [requests("127.0.0.0/24"), untrusted()];
      const t = await strangerTunnels.open(b.node.peerId, [addrOf(b)], header("203.0.113.7"));
      expect(tags(await getOver(t))).to.deep.equal(["b1"]);
      expect(requests("203.0.113.0/24"), "the stranger's word does not count").to.equal(0);
      expect(requests("127.0.0.0/24"), "counted under the address it came from").to.equal(loopback + 1);
      expect(untrusted()).to.equal(before + 1);
      // Yard A is listed and staked: the client it names counts (a redirection stub, a service call).
      await b.activeYards.refresh();
      expect(b.activeYards.trusts(a.node.peerId.toString())).to.equal(true);
      const viaA = await a.tunnels.open(b.node.peerId, [addrOf(b)], header("198.51.100.9"));
      expect(tags(await getOver(viaA))).to.deep.equal(["b1"]);
      expect(requests("198.51.100.0/24")).to.equal(1);
      expect(requests("127.0.0.0/24")).to.equal(loopback + 1);
      expect(untrusted()).to.equal(before + 1);
    } finally {
      await strangerTunnels.stop();
      await stranger.stop();
    }
  });

  it("namespace isolation: another namespace is refused locally and by the remote yard until an allow rule opens the target", async () => {
    const evil = await sleeper(EVIL, evilTenant);
    const denied0 = a.addressing!.denied;
    const refused = await execIn(
      docker,
      containerOf(a, evil),
      [resolveLine(`${WEB}.any.rr.icon`), getLoop(3)].join("\n"),
    );
    expect(refused.out, refused.out).to.match(/^ip=10\.233\./m);
    expect(tags(refused.out), refused.out).to.deep.equal([]);
    expect(a.addressing!.denied - denied0, refused.out).to.equal(3);
    // Directly: A refuses for its own instance; B refuses through the tunnel for its instance.
    const local = await a.overlay
      .connect(WEB, "none", 8080, { client: "127.0.0.1", from: EVIL, fromInstance: evil, instanceId: id("a1") })
      .then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    expect(local?.code).to.equal("DENIED");
    expect(local?.message).to.match(literally(`may not reach ${WEB}`));
    const remote = await a.overlay
      .connect(WEB, "none", 8080, { client: "127.0.0.1", from: EVIL, fromInstance: evil, instanceId: id("b1") })
      .then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
    expect(remote?.code).to.equal("TUNNEL_REFUSED");
    expect(remote?.message).to.match(literally(`${EVIL} may not reach ${WEB}`));
    // The target opens itself to evil.r<root>.*.* (instances at both yards): the same container now gets through.
    const evilNs = `evil.${evilTenant.namespace}.*.*`;
    await Promise.all([instance(a, OPEN, "oa", { allow: [evilNs] }), instance(b, OPEN, "ob", { allow: [evilNs] })]);
    const denied1 = a.addressing!.denied;
    const allowed = await execIn(
      docker,
      containerOf(a, evil),
      [resolveLine(`${OPEN}.any.rr.icon`), getLoop(4)].join("\n"),
    );
    expect(count(tags(allowed.out)), allowed.out).to.deep.equal({ oa: 2, ob: 2 });
    expect(a.addressing!.denied).to.equal(denied1);
    const d = await a.overlay.connect(OPEN, "none", 8080, {
      client: "127.0.0.1",
      from: EVIL,
      fromInstance: evil,
      instanceId: id("ob"),
    });
    expect(tags(await getOver(d))).to.deep.equal(["ob"]);
  });

  it("UDP service to service: datagrams to a ServiceIP reach instances at both yards by policy; another namespace gets none", async () => {
    const echo = await two.imageId(ECHO_IMAGE);
    /** An echo instance of `service` at `y` whose UDP replies start with `<tag>:`, or a sleeping client of it. */
    const udpLease = async (
      y: Yard,
      service: string,
      o: { tag?: string; sleep?: boolean; tenant?: Tenant },
    ): Promise<bigint> => {
      const l = await (o.tenant ?? tenant).lease(
        addrOf(y),
        echo,
        { slotSeconds: 180 },
        {
          imageRef: ECHO_IMAGE,
          service,
          ports: [],
          ...(o.sleep ? { command: ["sleep", "600"] } : { udpPorts: [5353], env: [`ECHO_PREFIX=${o.tag}:`] }),
        },
      );
      await waitFor(
        `${service} at ${y === a ? "A" : "B"} to run`,
        () => y.status().leases.find((x) => x.id === String(l.leaseId))?.running,
      );
      return l.leaseId;
    };
    const [, ub, udpClient, evilClient] = await Promise.all([
      udpLease(a, UDP, { tag: "ua" }),
      udpLease(b, UDP, { tag: "ub" }),
      udpLease(a, tenant.service("shop", "udpclient"), { sleep: true }),
      udpLease(a, evilTenant.service("evil", "udpclient"), { sleep: true, tenant: evilTenant }),
    ]);
    // Each send comes from a new source port: a new session, so round-robin picks the next instance.
    const sends = (n: number): string =>
      `for i in $(seq ${n}); do r=$(/bin/echo-server -c $ip 5353 ping-$i 2>&1); echo "$r rc=$?"; done`;
    const forwarded0 = a.addressing!.forwarded;
    const ok = await execIn(
      docker,
      containerOf(a, udpClient),
      [resolveLine(`${UDP}.any.rr.icon`), sends(4)].join("\n"),
    );
    expect(ok.out, ok.out).to.match(/^ip=10\.233\./m);
    const replies = [...ok.out.matchAll(/^(u[ab]):ping-(\d) rc=0$/gm)].map((x) => x[1]!);
    expect(count(replies), ok.out).to.deep.equal({ ua: 2, ub: 2 });
    expect(a.addressing!.forwarded - forwarded0).to.equal(4);
    // An InstanceIP pins the remote one (through the tunnel, framed datagrams).
    const pinned = await execIn(
      docker,
      containerOf(a, udpClient),
      [resolveLine(`${UDP}.${ub}.none.icon`), sends(2)].join("\n"),
    );
    expect(
      [...pinned.out.matchAll(/^(u[ab]):ping-\d rc=0$/gm)].map((x) => x[1]),
      pinned.out,
    ).to.deep.equal(["ub", "ub"]);
    // Another namespace: its datagrams are dropped (no reply, refused and counted).
    const denied0 = a.addressing!.denied;
    const refused = await execIn(
      docker,
      containerOf(a, evilClient),
      [resolveLine(`${UDP}.any.rr.icon`), sends(1)].join("\n"),
    );
    expect(refused.out, refused.out).to.match(/^ip=10\.233\./m);
    expect(refused.out, refused.out).to.match(/no reply from .* rc=1/);
    expect(a.addressing!.denied - denied0, refused.out).to.be.at.least(1);
  });

  it("route churn: ended and killed instances are replaced by live ones within one retry", async () => {
    await Promise.all([instance(a, CHURN, "ca"), instance(b, CHURN, "cb")]);
    const known = async (tag: string): Promise<boolean> =>
      (await a.overlay.instances(CHURN)).some((i) => i.instanceId === id(tag));
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await viaConnect(CHURN, "rr"))!);
    expect(count(seen)).to.deep.equal({ ca: 2, cb: 2 }); // A asked B (and registered interest)
    const icon = await clientFor(m, 3);

    // Terminated on chain: B stops the container and pushes its instance list (now without cb) to A.
    await icon.terminate(id("cb"));
    await waitFor("B's push: cb gone", async () => !(await known("cb")), 15_000);
    await waitFor("B to end lease cb", () => b.db.lease(id("cb"))!.status !== "deployed", 5000);
    let retries = a.overlay.requeries;
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push((await viaConnect(CHURN, "rr"))!);
    after.push((await viaConnect(CHURN, "closest"))!);
    expect(after).to.deep.equal(["ca", "ca", "ca", "ca", "ca"]);
    expect(a.overlay.requeries, "no retry: the push came first").to.equal(retries);

    // The same with the push lost (A's overlay protocols are off meanwhile): A's table still lists the ended
    // instance; B refuses the tunnel, A drops the route and asks again — one retry, and the connection succeeds.
    await instance(b, CHURN, "cb2");
    await waitFor("A to learn of cb2 from B's push", () => known("cb2"), 5000);
    await a.overlay.stop();
    try {
      await icon.terminate(id("cb2"));
      await waitFor("B to end lease cb2", () => b.db.lease(id("cb2"))!.status !== "deployed", 15_000);
      await new Promise((r) => setTimeout(r, 300)); // B's push fails meanwhile
    } finally {
      await a.overlay.start();
    }
    expect(await known("cb2"), "A's table is stale").to.equal(true);
    retries = a.overlay.requeries;
    let failed = a.overlay.forwardsFailed;
    const stale: string[] = [];
    for (let i = 0; i < 4; i++) stale.push((await viaConnect(CHURN, "rr"))!);
    expect(stale).to.deep.equal(["ca", "ca", "ca", "ca"]);
    expect(a.overlay.requeries - retries, "retries with a stale route").to.equal(1);
    expect(a.overlay.forwardsFailed - failed).to.equal(1);
    expect(await known("cb2")).to.equal(false);

    // A new instance at B, then its container is killed behind the yard's back.
    await instance(b, CHURN, "cb3");
    await waitFor("A to learn of cb3 from B's push", () => known("cb3"), 5000);
    const victim = containerOf(b, id("cb3"));
    const kill = async (): Promise<void> => {
      await docker.getContainer(victim).kill();
      await waitFor(
        "the killed container to stop",
        async () => !(await docker.getContainer(victim).inspect()).State.Running,
      );
    };
    await kill();
    // Right away, whether or not B has noticed yet: every connection succeeds, each with at most one retry.
    for (let i = 0; i < 4; i++) {
      retries = a.overlay.requeries;
      failed = a.overlay.forwardsFailed;
      expect(["ca", "cb3"]).to.include(await viaConnect(CHURN, "rr"));
      expect(a.overlay.requeries - retries, "retries of one connection after the kill").to.be.at.most(1);
      expect(a.overlay.forwardsFailed - failed).to.be.at.most(1);
    }
    // B restarts the killed container (a crash within the lease) and A routes to it again.
    await waitFor("B to restart cb3", () => b.db.lease(id("cb3"))!.restarts === 1, 10_000);
    await waitFor(
      "cb3 to answer again",
      async () => (await viaConnect(CHURN, "none", { instanceId: id("cb3") })) === "cb3",
      10_000,
    );
    // Killed again: B pushes the failure (A drops cb3 without asking), then the restart.
    await kill();
    await waitFor("A to hear from B that cb3 died", async () => !(await known("cb3")), 5000);
    retries = a.overlay.requeries;
    expect(await viaConnect(CHURN, "rr")).to.equal("ca");
    expect(a.overlay.requeries).to.equal(retries);
    await waitFor("A to hear from B that cb3 runs again", () => known("cb3"), 10_000);

    // A local container killed: A stops routing to it, B's instance takes the connections.
    const local = containerOf(a, id("ca"));
    await docker.getContainer(local).kill();
    await waitFor("A to see ca die", async () => !(await known("ca")) || a.db.lease(id("ca"))!.restarts > 0);
    retries = a.overlay.requeries;
    expect(["ca", "cb3"]).to.include(await viaConnect(CHURN, "rr"));
    expect(a.overlay.requeries - retries).to.be.at.most(1);
  });

  /**
   * A raw TCP migration of `service` (none: a lease without one) from A to B under load, make before break: the
   * stub at A forwards new connections through a tunnel at once, none fails, and the old endpoint keeps forwarding
   * after the old lease ended.
   */
  async function migrateUnderLoad(service: string | undefined, tag: string): Promise<void> {
    const [before, after] = [`${tag}-old`, `${tag}-new`];
    const old = await instance(a, service, before);
    const tunnels0 = a.tunnels.stats().opened;
    let stop = false;
    const answers: string[] = [];
    const failures: string[] = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const r = await rawGet(old.endpoint, 5000);
          const t = tags(r)[0];
          if (!t || !/^HTTP\/1\.[01] 200 /.test(r)) failures.push(r.slice(0, 60) || "(closed without data)");
          else answers.push(t);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((r) => setTimeout(r, 300));
    // Make before break: the new instance runs at B, the stub points there, then the old lease ends.
    const neu = await instance(b, service, after);
    await setRouting(tenant.node, addrOf(a), {
      access: await access(old.leaseId),
      redirects: [],
      stub: {
        yard: b.node.peerId.toString(),
        addrs: b.node.getMultiaddrs().map(String),
        instanceId: neu.leaseId,
        endpoint: neu.endpoint,
        graceS: 60,
      },
    });
    const atStub = answers.length;
    await new Promise((r) => setTimeout(r, 300));
    const icon = await clientFor(m, 3);
    await icon.terminate(old.leaseId);
    await waitFor("the old container to stop", () => a.db.lease(old.leaseId)!.status !== "deployed", 15_000);
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(workers);
    expect(failures, failures.slice(0, 5).join("; ")).to.have.length(0);
    expect(answers.length).to.be.greaterThan(50);
    expect(answers.slice(0, Math.min(atStub, 5))).to.include(before);
    // A handful of requests may have been answered by the old container right as the stub was set.
    expect(answers.slice(atStub + 20)).to.not.include(before);
    expect(answers.slice(-20)).to.deep.equal(Array(20).fill(after));
    expect(a.tunnels.stats().opened - tunnels0).to.be.greaterThan(0);
    // During the grace period the old endpoint keeps forwarding to the new instance.
    expect(tags(await rawGet(old.endpoint))).to.deep.equal([after]);
  }

  it("migrates a raw TCP service under load through a stub and a tunnel: zero failed requests", () =>
    migrateUnderLoad(MIG, "m"));

  it("migrates a raw TCP lease that names no service the same way: its tunnels address the instance by lease id", () =>
    migrateUnderLoad(undefined, "n"));
});
