/** Retries and lease binding of the lease server: the guarantees PROTOCOL.md "Idempotency" states. */
import { expect } from "chai";
import type { Libp2p } from "@libp2p/interface";
import {
  LeaseRejectedError,
  LeaseSession,
  RejectCode,
  createIconNode,
  serveLeases,
  type LeaseProvider,
} from "../../../protocol/index.ts";
import { fixedQuote, sampleRfq } from "../../helpers/lease-fixtures.ts";

const rfq = sampleRfq;

describe("lease server retries", function () {
  this.timeout(30_000);
  let yard: Libp2p;
  let agent: Libp2p;
  let stop: () => Promise<void>;
  let opened = 0;
  let deployed = 0;

  before(async () => {
    const provider: LeaseProvider = {
      async capacity() {
        throw new Error("unused");
      },
      async quote(r) {
        return fixedQuote(r, 1n);
      },
      async accept() {
        await new Promise((r) => setTimeout(r, 400)); // a slow chain
        opened++;
        return { leaseId: 7n, txHash: "0x" + "77".repeat(32) };
      },
      async deploy() {
        deployed++;
        return { endpoint: "127.0.0.1:9000" };
      },
    };
    yard = await createIconNode();
    agent = await createIconNode();
    stop = await serveLeases(yard, provider);
  });
  after(async () => {
    await stop();
    await Promise.all([yard.stop(), agent.stop()]);
  });

  it("answers an Accept retried while the first is still opening the lease with the same Opened, and opens once", async () => {
    const addr = yard.getMultiaddrs()[0]!;
    const s = await LeaseSession.open(agent, addr);
    await s.request({ type: "rfq", rfq });
    const quoted = s.state;
    const retry = await LeaseSession.open(agent, addr, { requestId: s.requestId, state: quoted });
    const sig = "0x" + "aa".repeat(65);
    const first = s.request({ type: "accept", tenantSignature: sig });
    await new Promise((r) => setTimeout(r, 100)); // the retry lands while accept() is still running
    const [a, b] = await Promise.all([first, retry.request({ type: "accept", tenantSignature: sig })]);
    expect(a).to.deep.equal({ type: "opened", leaseId: 7n, txHash: "0x" + "77".repeat(32) });
    expect(b).to.deep.equal(a);
    expect(opened).to.equal(1);
    await Promise.all([s.close(), retry.close()]);
  });

  it("refuses a Deploy for a lease this negotiation did not open, and deploys the one it did", async () => {
    const s = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    await s.request({ type: "rfq", rfq });
    await s.request({ type: "accept", tenantSignature: "0x" + "aa".repeat(65) });
    const spec = { imageRef: "icon/echo:1", imageDigest: "0x" + "ab".repeat(32), command: [], env: [], ports: [8080] };
    const err = await s.request({ type: "deploy", spec: { ...spec, leaseId: 8n } }).catch((e) => e);
    expect(err).to.be.instanceOf(LeaseRejectedError);
    expect((err as LeaseRejectedError).reject).to.equal(RejectCode.BAD_REQUEST);
    expect(deployed).to.equal(0);

    const s2 = await LeaseSession.open(agent, yard.getMultiaddrs()[0]!);
    await s2.request({ type: "rfq", rfq });
    const o = await s2.request({ type: "accept", tenantSignature: "0x" + "aa".repeat(65) });
    if (o.type !== "opened") throw new Error("expected opened");
    const r = await s2.request({ type: "deploy", spec: { ...spec, leaseId: o.leaseId } });
    expect(r).to.deep.equal({ type: "running", leaseId: 7n, endpoint: "127.0.0.1:9000" });
    expect(deployed).to.equal(1);
    await s2.close();
  });
});
