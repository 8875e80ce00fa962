/**
 * The overlay as one of the libp2p node's services, built as the yard builds it (yard-node/protocol-services.ts
 * `yardProtocolServices(...).services.overlay`, over gatedComponents), on real libp2p nodes over loopback: its
 * handlers are registered when the node starts, through the readiness gate's registrar, and refuse every stream
 * until the gate opens; its outbound work (the DHT announcements of the services this yard runs, also those a
 * change of its instances would make) begins only when the gate opens; then it answers route queries; the node's
 * stop unregisters its handlers. Through the same components it pings other yards: the round trip to a remote
 * instance's yard is measured (the `closest` policy ranks by it).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ContentRouting, Libp2p } from "@libp2p/interface";
import {
  ROUTES_PROTOCOL,
  ROUTING_PROTOCOL,
  ReadyGate,
  TELEMETRY_PROTOCOL,
  createIconNode,
  overlayRequest,
  type IconNodeComponents,
} from "../../../protocol/index.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { parseYardConfig } from "../../../yard-node/config.ts";
import { YardDb } from "../../../yard-node/db.ts";
import type { Overlay } from "../../../yard-node/overlay/overlay.ts";
import type { LocalInstance } from "../../../yard-node/overlay/types.ts";
import {
  yardProtocolServices,
  type ProtocolServicesInit,
  type ServedRooms,
} from "../../../yard-node/protocol-services.ts";

const SERVICE = "shop.acme.cart.prod";
const PROTOCOLS = [ROUTES_PROTOCOL, ROUTING_PROTOCOL, TELEMETRY_PROTOCOL];

describe("the overlay as a libp2p service behind the readiness gate (real libp2p, the yard's wiring)", function () {
  this.timeout(60_000);
  const nodes: Libp2p[] = [];
  const dbs: YardDb[] = [];
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "icon-overlay-service-"));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    for (const db of dbs) db.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * A node whose only project service is the yard's overlay, from `yardProtocolServices` as yard.ts calls it (its
   * other services are not built: the parts of the init only they use are left out). `provides` counts the DHT
   * announcements the overlay makes through the node's content routing (each is passed on to the real one).
   */
  async function yardNode(
    yardId: string,
    o: { dht?: boolean; local: () => LocalInstance[] },
  ): Promise<{
    node: Libp2p;
    gate: ReadyGate;
    overlay: () => Overlay;
    provides: string[];
    provided: (n: number) => Promise<void>;
    refused: string[];
  }> {
    const config = parseYardConfig(
      {
        yardId,
        dataDir: path.join(dir, yardId),
        chain: { rpcUrl: "http://127.0.0.1:1", deployment: "deployment.json" },
        listing: { domain: "test.icon", region: "test-1", stake: "100 iUSD" },
        capacity: { cpuMillis: 4000, memoryMiB: 4096 },
        pricing: { floorPerSecond: "10 units", cpuPerCoreSecond: "100 units", memoryPerGiBSecond: "40 units" },
        p2p: { dht: o.dht ?? false, dhtPrivateAddresses: true },
      },
      path.join(dir, `${yardId}.json`),
    );
    const db = new YardDb(path.join(dir, `${yardId}.db`));
    dbs.push(db);
    const refused: string[] = [];
    const gate = new ReadyGate(`${yardId} is starting`, { onRefused: (p) => refused.push(p) });
    const rooms = {
      overlay: {
        local: o.local,
        admit: async () => true,
        vouch: async () => true,
        checkRoute: async () => undefined,
        udpBridge: async () => {
          throw new Error("no datagram bridge in this test");
        },
      },
    } as unknown as ServedRooms;
    const served = yardProtocolServices(
      { config, db, log: silentLogger } as Partial<ProtocolServicesInit> as ProtocolServicesInit,
      gate,
      () => rooms,
    );
    const provides: string[] = [];
    const waiting = new Set<() => void>();
    /** Resolves once `n` announcements were made. */
    const provided = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (provides.length < n) return;
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        check();
      });
    /** The node's components, its content routing counting `provide` (read as js-libp2p's proxy reads). */
    const counted = (c: IconNodeComponents): IconNodeComponents =>
      new Proxy(c, {
        get(target, prop) {
          const v = Reflect.get(target, prop) as unknown;
          if (prop !== "contentRouting") return v;
          const cr = v as ContentRouting;
          return new Proxy(cr, {
            get(t, p) {
              if (p !== "provide") return Reflect.get(t, p) as unknown;
              return (...a: Parameters<ContentRouting["provide"]>) => {
                provides.push(a[0].toString());
                for (const w of [...waiting]) w();
                return t.provide(...a);
              };
            },
          });
        },
      });
    const node = await createIconNode({
      dht: o.dht ?? false,
      dhtPrivateAddresses: true,
      services: { overlay: (c: IconNodeComponents) => served.services.overlay!(counted(c)) },
    });
    nodes.push(node);
    return { node, gate, overlay: served.overlay, provides, provided, refused };
  }

  it("registers at the node's start, refuses until ready, announces only once ready, answers, stops with the node", async () => {
    /** Who asked for this yard's instances: the announcements (at their start) and the route answers. */
    let localReads = 0;
    const local = (): LocalInstance[] => {
      localReads++;
      return [{ leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.2" }];
    };
    const yard = await yardNode("svc-gated", { dht: true, local });
    const asker = await createIconNode();
    nodes.push(asker);
    for (const p of PROTOCOLS) expect(yard.node.getProtocols(), "registered with the node's start").to.include(p);

    // The yard's restore (leases.ts reconcile) tells the overlay of its instances before the gate opens.
    yard.overlay().localChanged(SERVICE);
    const query = () =>
      overlayRequest(asker, yard.node.getMultiaddrs()[0]!, ROUTES_PROTOCOL, {
        type: "routeQuery",
        service: SERVICE,
        interest: false,
      });
    const before = await query().then(
      () => "answered",
      () => "refused",
    );
    expect(before).to.equal("refused");
    expect(yard.refused).to.deep.equal([ROUTES_PROTOCOL]);
    expect(yard.provides, "no DHT announcement before ready").to.deep.equal([]);
    expect(localReads, "nothing announced or answered before ready").to.equal(0);

    yard.gate.open();
    expect(localReads, "the announcements began when the gate opened").to.equal(1);
    await yard.provided(1);
    expect(yard.provides, "this yard's one service announced when the gate opened").to.have.length(1);
    const r = await query();
    expect(r.type).to.equal("routeAnswer");
    expect(r.type === "routeAnswer" && r.instances.map((i) => i.instanceId)).to.deep.equal([1n]);
    expect(yard.gate.refused).to.equal(1);

    await yard.node.stop();
    for (const p of PROTOCOLS) expect(yard.node.getProtocols(), "unregistered by the node's stop").to.not.include(p);
  });

  it("pings other yards through the node's components: a remote instance's round trip is measured", async () => {
    const serving = await yardNode("svc-serving", {
      local: () => [{ leaseId: 3n, service: SERVICE, ports: [8080], ip: "172.30.0.3" }],
    });
    const asking = await yardNode("svc-asking", { local: () => [] });
    serving.gate.open();
    asking.gate.open();
    await asking.node.dial(serving.node.getMultiaddrs()[0]!);

    const unmeasured = await asking.overlay().instances(SERVICE);
    expect(unmeasured.map((i) => [i.yard, i.instanceId, i.latencyMs])).to.deep.equal([
      [serving.node.peerId.toString(), 3n, undefined],
    ]);
    const picked = await asking.overlay().pick(SERVICE, "closest");
    expect(picked?.instanceId).to.equal(3n);
    const [measured] = await asking.overlay().instances(SERVICE);
    expect(measured?.latencyMs, "the closest policy measured the round trip with the node's ping").to.be.a("number");
    expect(measured!.latencyMs).to.be.at.least(0).and.below(5000);
  });
});
