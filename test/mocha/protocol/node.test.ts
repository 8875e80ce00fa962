/** The libp2p node factory: transports, persistent keys, bootstrap, mDNS and the optional DHT. */
import { expect } from "chai";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Libp2p } from "@libp2p/interface";
import { ConfigError, createIconNode, loadOrCreatePeerKey } from "../../../protocol/index.ts";

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

describe("libp2p node factory", function () {
  this.timeout(30_000);
  const nodes: Libp2p[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it("keeps its peer id across restarts through the key file (mode 0600) and refuses a corrupt key file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "icon-key-"));
    const file = path.join(dir, "peer.key");
    const a = await createIconNode({ privateKey: await loadOrCreatePeerKey(file) });
    const id = a.peerId.toString();
    await a.stop();
    expect((await stat(file)).mode & 0o777).to.equal(0o600);
    const b = await createIconNode({ privateKey: await loadOrCreatePeerKey(file) });
    nodes.push(b);
    expect(b.peerId.toString()).to.equal(id);
    expect((await readFile(file)).length).to.be.greaterThan(32);
    await writeFile(path.join(dir, "bad.key"), "not a key");
    const err = await loadOrCreatePeerKey(path.join(dir, "bad.key")).catch((e) => e);
    expect(err).to.be.instanceOf(ConfigError);
  });

  it("connects to its bootstrap peers by itself, over noise-authenticated connections", async () => {
    const a = await createIconNode();
    nodes.push(a);
    const b = await createIconNode({ bootstrap: [a.getMultiaddrs()[0]!.toString()] });
    nodes.push(b);
    expect(await until(() => b.getConnections(a.peerId).length > 0, 10_000)).to.equal(true);
    const conn = b.getConnections(a.peerId)[0]!;
    expect(conn.encryption).to.equal("/noise");
    expect(conn.remotePeer.equals(a.peerId)).to.equal(true);
  });

  it("finds and dials a peer on the LAN with mDNS (here: the loopback interface)", async () => {
    const a = await createIconNode({ mdns: true });
    const b = await createIconNode({ mdns: true });
    nodes.push(a, b);
    const found = await until(
      () => b.getConnections(a.peerId).length > 0 || a.getConnections(b.peerId).length > 0,
      15_000,
    );
    expect(found).to.equal(true);
  });

  it("runs a Kademlia DHT when asked, and not otherwise", async () => {
    const withDht = await createIconNode({ dht: true });
    const without = await createIconNode();
    nodes.push(withDht, without);
    expect(withDht.getProtocols()).to.include("/icon/kad/1.0.0");
    expect(without.getProtocols()).to.not.include("/icon/kad/1.0.0");
  });
});
