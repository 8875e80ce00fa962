/** ALTO (RFC 7285) network and cost maps: validation, longest-prefix lookup, served and fetched over HTTP. */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";
import {
  ALTO_MEDIA,
  AltoMap,
  ConfigError,
  fetchAltoMap,
  serveAlto,
  type CostMap,
  type NetworkMap,
} from "../../../protocol/index.ts";

const network = (): NetworkMap => ({
  meta: { vtag: { "resource-id": "icon-networkmap", tag: "v1" } },
  "network-map": {
    "subnet-a": { ipv4: ["10.1.0.0/24"] },
    "subnet-b": { ipv4: ["10.2.0.0/24"], ipv6: ["2001:db8:2::/48"] },
    wide: { ipv4: ["10.0.0.0/8"] },
    "yard-cloud": { ipv4: ["127.0.0.2/32"] },
    "yard-edge-a": { ipv4: ["127.0.0.3/32"] },
  },
});
const costs = (): CostMap => ({
  meta: {
    "dependent-vtags": [{ "resource-id": "icon-networkmap", tag: "v1" }],
    "cost-type": { "cost-mode": "numerical", "cost-metric": "delay-ow" },
  },
  "cost-map": {
    "subnet-a": { "yard-cloud": 60, "yard-edge-a": 5 },
    "subnet-b": { "yard-cloud": 60, "yard-edge-a": 80 },
  },
});

describe("ALTO network information", () => {
  it("looks up costs by longest-prefix match of both addresses", () => {
    const m = new AltoMap(network(), costs());
    expect(m.pidOf("10.1.0.9")).to.equal("subnet-a");
    expect(m.pidOf("10.9.9.9")).to.equal("wide");
    expect(m.pidOf("2001:db8:2:1::5")).to.equal("subnet-b");
    expect(m.pidOf("192.168.1.1")).to.equal(undefined);
    expect(m.cost("10.1.0.9", "127.0.0.3")).to.equal(5);
    expect(m.cost("10.2.0.1", "127.0.0.3")).to.equal(80);
    expect(m.cost("::ffff:10.1.0.9", "127.0.0.2")).to.equal(60);
    expect(m.cost("10.9.9.9", "127.0.0.2")).to.equal(undefined);
  });

  it("refuses malformed maps with the field and the fix", () => {
    const bad = (n: NetworkMap, c: CostMap, re: RegExp): void => {
      expect(() => new AltoMap(n, c)).to.throw(ConfigError, re);
    };
    const n1 = network();
    n1["network-map"]["subnet-a"] = { ipv4: ["10.1.0.0/33"] };
    bad(n1, costs(), /network-map\.subnet-a\.ipv4\[0\]: "10\.1\.0\.0\/33" is not an address prefix/);
    const c1 = costs();
    c1.meta["dependent-vtags"][0]!.tag = "v0";
    bad(network(), c1, /dependent-vtags: must name the network map's resource-id and tag/);
    const c2 = costs();
    c2["cost-map"]["subnet-a"]!["nowhere"] = 1;
    bad(network(), c2, /cost-map\.subnet-a\.nowhere: is not a PID/);
    const c3 = costs();
    c3["cost-map"]["subnet-a"]!["yard-cloud"] = -1;
    bad(network(), c3, /costs are finite numbers/);
    const n2 = network();
    n2["network-map"]["bad pid"] = { ipv4: [] };
    bad(n2, costs(), /PID names/);
  });

  it("serves the directory, network map and cost map with ALTO media types, and a client reads them back", async () => {
    const server = await serveAlto(new AltoMap(network(), costs()));
    try {
      const dir = await fetch(`${server.url}/`);
      expect(dir.headers.get("content-type")).to.equal(ALTO_MEDIA.directory);
      const cm = await fetch(`${server.url}/costmap`);
      expect(cm.headers.get("content-type")).to.equal(ALTO_MEDIA.costMap);
      expect((await fetch(`${server.url}/nope`)).status).to.equal(404);
      const m = await fetchAltoMap(server.url);
      expect(m.cost("10.1.0.1", "127.0.0.3")).to.equal(5);
      expect(m.costs.meta["cost-type"]["cost-metric"]).to.equal("delay-ow");
    } finally {
      await server.close();
    }
  });

  it("`icon netinfo serve --map` serves a map file and refuses a bad one with the field", async function () {
    this.timeout(30_000);
    const dir = await mkdtemp(path.join(tmpdir(), "icon-alto-"));
    const good = path.join(dir, "map.json");
    await writeFile(good, JSON.stringify({ networkMap: network(), costMap: costs() }));
    const cli = path.join(projectRoot, "scripts/cli/icon.ts");
    const child = spawn(process.execPath, [cli, "netinfo", "serve", "--map", good, "--port", "0"]);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = "";
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          const m = /at (http:\/\/\S+)\//.exec(err);
          if (m) resolve(m[1]!);
        });
        child.once("exit", () => reject(new Error(err)));
      });
      expect((await fetchAltoMap(url)).cost("10.2.0.9", "127.0.0.2")).to.equal(60);
    } finally {
      child.kill("SIGTERM");
    }
    const broken = path.join(dir, "bad.json");
    const c = costs();
    c["cost-map"]["subnet-a"]!["yard-cloud"] = -5;
    await writeFile(broken, JSON.stringify({ networkMap: network(), costMap: c }));
    const out = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [cli, "netinfo", "serve", "--map", broken, "--port", "0"]);
      let err = "";
      p.stderr.on("data", (d: Buffer) => (err += d.toString()));
      p.once("exit", (code) => resolve({ code, err }));
    });
    expect(out.code).to.equal(1);
    expect(out.err).to.match(/cost-map\.subnet-a\.yard-cloud: costs are finite numbers/);
  });
});
