/**
 * Where a parent places a replica lost with its yard (icon-agent/replace.ts elsewhere): never the lost yard, and not
 * the parent's own yard while another remains — a replica beside its parent serves no client better, and its
 * controller ends it at once (the demo's re-placed replica did, before this).
 */
import { expect } from "chai";
import { elsewhere } from "../../../icon-agent/replace.ts";
import type { YardRef } from "../../../icon-agent/market.ts";

const yard = (peerId: string): YardRef => ({
  peerId,
  addrs: [],
  host: "127.0.0.1",
  name: peerId,
  operator: "0x0",
  cpuPricePerSecond: 1n,
  memoryPricePerSecond: 1n,
});

describe("agent re-placement: where a lost replica goes", () => {
  const cloud = yard("cloud");
  const edgeA = yard("edge-a");
  const edgeB = yard("edge-b");

  it("leaves out the lost yard and the parent's own yard while another remains", () => {
    expect(elsewhere([cloud, edgeA, edgeB], "cloud", "edge-b").map((y) => y.peerId)).to.deep.equal(["edge-a"]);
  });

  it("falls back to every candidate (the lost one is left out by the bid) when only the parent's yard remains", () => {
    expect(elsewhere([cloud, edgeB], "cloud", "edge-b").map((y) => y.peerId)).to.deep.equal(["cloud", "edge-b"]);
  });

  it("keeps every yard but the lost one when the parent is not placed", () => {
    expect(elsewhere([cloud, edgeA, edgeB], undefined, "edge-b").map((y) => y.peerId)).to.deep.equal([
      "cloud",
      "edge-a",
    ]);
  });
});
