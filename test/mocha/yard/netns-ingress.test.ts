/**
 * A yard whose public side lives in another network namespace (`publicNetns`, a testbed site): the ingress's
 * listener is bound inside it (yard-node/netns-listen.ts) while the yard's process and upstreams stay in its own;
 * clients inside the namespace are carried, the yard's own namespace does not even route to the address, and the
 * kernel's round trips are read inside the namespace (kernel-rtt.ts). The namespace (198.18.0.0/15 address on its
 * loopback) is this test's own, removed after.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { promisify } from "node:util";
import { isIconError } from "../../../protocol/index.ts";
import { silentLogger } from "../../../protocol/log.ts";
import { controlHostOf } from "../../../yard-node/config.ts";
import { Ingress } from "../../../yard-node/ingress.ts";
import { KernelRtt } from "../../../yard-node/overlay/kernel-rtt.ts";
import { listenInNetns } from "../../../yard-node/netns-listen.ts";

const run = promisify(execFile);
const NS = `icnsi${randomBytes(3).toString("hex")}`;
const NETNS = `/run/netns/${NS}`;
const ADDR = "198.18.250.1";

/** A client inside the namespace: sends `text` to host:port, prints the answer, keeps the connection `holdMs`. */
async function clientInNs(port: number, text: string, holdMs = 0): Promise<string> {
  const prog = `const c = require("node:net").connect(${port}, "${ADDR}", () => c.write(${JSON.stringify(text)}));
    let got = ""; c.on("data", (d) => { got += d; if (got.length >= ${text.length}) setTimeout(() => { process.stdout.write(got); c.destroy(); }, ${holdMs}); });
    c.on("error", (e) => { process.stderr.write(e.message); process.exit(2); });`;
  const { stdout } = await run("ip", ["netns", "exec", NS, process.execPath, "-e", prog], { timeout: 20_000 });
  return stdout;
}

describe("a yard's public side in another network namespace (publicNetns)", function () {
  this.timeout(60_000);
  let echo: net.Server;
  let echoPort: number;

  before(async () => {
    await run("ip", ["netns", "add", NS]);
    await run("ip", ["-n", NS, "link", "set", "lo", "up"]);
    await run("ip", ["-n", NS, "addr", "add", `${ADDR}/32`, "dev", "lo"]);
    echo = net.createServer((s) => s.pipe(s));
    echoPort = await new Promise((r) => echo.listen(0, "127.0.0.1", () => r((echo.address() as net.AddressInfo).port)));
  });
  after(async () => {
    await new Promise((r) => echo?.close(r));
    await run("ip", ["netns", "del", NS]).catch(() => {});
  });

  it("carries clients of the namespace to an upstream of the yard's own, and reads their round trips there", async () => {
    const ingress = new Ingress(ADDR, { netns: NETNS });
    const seen: string[] = [];
    try {
      const port = await ingress.open(
        1n,
        8080,
        { upstream: () => ({ kind: "local", host: "127.0.0.1", port: echoPort }), observe: (c) => seen.push(c) },
        0,
      );
      expect(port).to.be.greaterThan(0);
      // The yard's own namespace has no such address: nothing of it listens here.
      const here = net.connect(port, ADDR);
      const refused = await new Promise<string>((r) => here.once("error", (e: NodeJS.ErrnoException) => r(e.code!)));
      expect(refused).to.match(/^E(CONNREFUSED|HOSTUNREACH|NETUNREACH|TIMEDOUT)$/);
      expect(await clientInNs(port, "hello from the site")).to.equal("hello from the site");
      expect(seen).to.deep.equal([ADDR]); // the client as the namespace's kernel saw it
      // While a client holds its connection, the kernel's estimate of it is read inside the namespace.
      const recorded: [bigint, string, number][] = [];
      const rtt = new KernelRtt(
        { host: ADDR, ports: () => ingress.leasePorts(), record: (...a) => recorded.push(a), log: silentLogger },
        { everyMs: 0, netns: NETNS },
      );
      const held = clientInNs(port, "hold", 1500);
      let n = 0;
      for (let i = 0; i < 100 && n === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        n = await rtt.sample();
      }
      expect(await held).to.equal("hold");
      expect(n).to.equal(1);
      expect(recorded[0]![0]).to.equal(1n);
      expect(recorded[0]![1]).to.equal(ADDR);
      expect(recorded[0]![2]).to.be.greaterThan(0).and.lessThan(20);
      // The same port again after closing: listening in the namespace is repeatable.
      await ingress.close(1n);
      const again = await ingress.open(
        1n,
        8080,
        { upstream: () => ({ kind: "local", host: "127.0.0.1", port: echoPort }) },
        port,
      );
      expect(again).to.equal(port);
      expect(await clientInNs(again, "again")).to.equal("again");
    } finally {
      await ingress.closeAll();
    }
  });

  it("keeps an ICON agent's listener on the control side: in the yard's own namespace on the control host, not in the site", async () => {
    const ingress = new Ingress(ADDR, { netns: NETNS, controlHost: "127.0.0.1" });
    try {
      const route = { upstream: () => ({ kind: "local" as const, host: "127.0.0.1", port: echoPort }) };
      const port = await ingress.open(7n, "agent/4100", route, 0, "tcp", "control");
      // Reached from the yard's own namespace (other yards and agents dial it there) …
      const c = net.connect(port, "127.0.0.1");
      c.write("control plane");
      const got = await new Promise<string>((resolve, reject) => {
        let text = "";
        c.on("data", (d) => {
          text += d;
          if (text.length >= "control plane".length) resolve(text);
        });
        c.once("error", reject);
      }).finally(() => c.destroy());
      expect(got).to.equal("control plane");
      // … and not from the site: clients of the site's network do not reach the agent's port.
      const prog = `const c = require("node:net").connect(${port}, "${ADDR}"); c.on("connect", () => process.exit(0)); c.on("error", (e) => { process.stdout.write(e.code); process.exit(3); });`;
      const r = await run("ip", ["netns", "exec", NS, process.execPath, "-e", prog], { timeout: 20_000 }).then(
        () => "connected",
        (e: { stdout?: string }) => e.stdout ?? "",
      );
      expect(r).to.equal("ECONNREFUSED");
      // A public listener of the same ingress still lives in the site.
      const pub = await ingress.open(7n, 8080, route, 0);
      expect(await clientInNs(pub, "public side")).to.equal("public side");
    } finally {
      await ingress.closeAll();
    }
  });

  it("names the control host of a yard: its public host, or with publicNetns its first listen address", () => {
    const base = { publicHost: "198.18.3.1", listen: ["/ip4/127.0.1.4/tcp/0"] };
    expect(controlHostOf({ ...base, publicNetns: undefined })).to.equal("198.18.3.1");
    expect(controlHostOf({ ...base, publicNetns: NETNS })).to.equal("127.0.1.4");
    // A wildcard as libp2p binds it: the agent's listener is then on every address, as the yard's node is.
    expect(controlHostOf({ ...base, publicNetns: NETNS, listen: ["/ip4/0.0.0.0/tcp/4001"] })).to.equal("0.0.0.0");
  });

  it("refuses a namespace that does not exist with an error that names the fix, and a taken port with its code", async () => {
    const e = await listenInNetns("/run/netns/icon-no-such-ns", ADDR, 0).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isIconError(e, "NETNS_LISTEN_FAILED")).to.equal(true);
    expect((e as Error).message).to.match(/ip netns list/);
    const first = await listenInNetns(NETNS, ADDR, 0);
    try {
      const port = (first.address() as net.AddressInfo).port;
      const taken = await listenInNetns(NETNS, ADDR, port).then(
        () => undefined,
        (x: unknown) => x as NodeJS.ErrnoException,
      );
      expect(taken?.code).to.equal("EADDRINUSE");
    } finally {
      first.close();
    }
  });
});
