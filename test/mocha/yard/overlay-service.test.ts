/**
 * The overlay as one of the libp2p node's services (yard-node/overlay/overlay.ts `overlay`, as the yard's
 * protocol-services.ts hands it to the node), on real libp2p nodes over loopback: its handlers are registered when
 * the node starts, through the readiness gate's registrar, and refuse every stream until the gate opens; its
 * outbound work (the DHT announcements of the services this yard runs) begins only when the gate opens; then it
 * answers route queries; the node's stop unregisters its handlers.
 */
import { expect } from "chai";
import type { Libp2p } from "@libp2p/interface";
import {
  ROUTES_PROTOCOL,
  ROUTING_PROTOCOL,
  ReadyGate,
  TELEMETRY_PROTOCOL,
  createIconNode,
  gatedComponents,
  overlayRequest,
  type IconNodeComponents,
} from "../../../protocol/index.ts";
import { silentLogger } from "../../../protocol/log.ts";
import type { LeaseRow } from "../../../yard-node/db.ts";
import { overlay } from "../../../yard-node/overlay/overlay.ts";
import type { LocalInstance } from "../../../yard-node/overlay/types.ts";

const SERVICE = "shop.acme.cart.prod";
const PROTOCOLS = [ROUTES_PROTOCOL, ROUTING_PROTOCOL, TELEMETRY_PROTOCOL];

describe("the overlay as a libp2p service behind the readiness gate (real libp2p)", function () {
  this.timeout(60_000);
  const nodes: Libp2p[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("registers at the node's start, refuses until ready, announces only once ready, answers, stops with the node", async () => {
    const refused: string[] = [];
    const gate = new ReadyGate("the test yard is starting", { onRefused: (p) => refused.push(p) });
    /** Who asked for this yard's instances: the announcements (at their start) and the route answers. */
    let localReads = 0;
    const local = (): LocalInstance[] => {
      localReads++;
      return [{ leaseId: 1n, service: SERVICE, ports: [8080], ip: "172.30.0.2" }];
    };
    const yard = await createIconNode({
      dht: true,
      services: {
        overlay: (c: IconNodeComponents) =>
          overlay({
            ready: gate,
            log: silentLogger,
            authorize: async (a) => ({ id: a.leaseId }) as LeaseRow,
            local,
            dht: true,
          })(gatedComponents(c, gate)),
      },
    });
    const asker = await createIconNode();
    nodes.push(yard, asker);
    for (const p of PROTOCOLS) expect(yard.getProtocols(), "registered with the node's start").to.include(p);

    const query = () =>
      overlayRequest(asker, yard.getMultiaddrs()[0]!, ROUTES_PROTOCOL, {
        type: "routeQuery",
        service: SERVICE,
        interest: false,
      });
    const before = await query().then(
      () => "answered",
      () => "refused",
    );
    expect(before).to.equal("refused");
    expect(refused).to.deep.equal([ROUTES_PROTOCOL]);
    expect(localReads, "nothing announced or answered before ready").to.equal(0);

    gate.open();
    expect(localReads, "the announcements began when the gate opened").to.equal(1);
    const r = await query();
    expect(r.type).to.equal("routeAnswer");
    expect(r.type === "routeAnswer" && r.instances.map((i) => i.instanceId)).to.deep.equal([1n]);
    expect(gate.refused).to.equal(1);

    await yard.stop();
    for (const p of PROTOCOLS) expect(yard.getProtocols(), "unregistered by the node's stop").to.not.include(p);
  });
});
