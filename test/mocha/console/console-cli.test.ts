/**
 * `icon console` itself, as an owner runs it (no browser): it starts, prints its URL, serves /deployment.json (the
 * deployment file's addresses and the chain URL the page reads) and the page with the strict CSP header; it refuses
 * to hand the page an RPC URL that may hold a secret (credentials, a path, a query) unless --page-rpc says which
 * URL the page may see. And the page's build is redone after a build that did not complete (its completion stamp).
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildUnlessStamped, consoleCsp } from "../../../scripts/lib/console-server.ts";
import { deployMarket, devKeys, projectRoot, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";
import type { Deployment } from "../../../protocol/chain/deployment.ts";

const cli = path.join(projectRoot, "scripts/cli/icon.ts");

describe("icon console", function () {
  this.timeout(120_000);
  let chain: DevChain;
  let dir: string;
  let file: string;
  let deployment: Deployment;

  before(async () => {
    chain = await startDevChain("127.0.0.1", 0);
    deployment = await deployMarket(chain.url, devKeys(1)[0]!);
    dir = await mkdtemp(path.join(tmpdir(), "icon-console-cli-"));
    file = path.join(dir, "deployment.json");
    await writeFile(
      file,
      JSON.stringify(deployment, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
    );
  });
  after(async () => {
    await chain?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs `icon … console …`; resolves with the child, its output so far, and its exit once it ended. */
  function icon(args: string[]) {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    const o = { stdout: "", stderr: "" };
    child.stdout.on("data", (b: Buffer) => (o.stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (o.stderr += b.toString()));
    const exit = once(child, "exit").then(([code]) => code as number | null);
    return { child, o, exit };
  }

  /** The URL a started `icon console` prints once it serves; its stderr in the error if it ends first. */
  function servedAt(r: ReturnType<typeof icon>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      r.child.stdout.on("data", () => {
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(r.o.stdout);
        if (m) resolve(m[1]!);
      });
      void r.exit.then((code) => reject(new Error(`icon console ended (${code}): ${r.o.stderr}`)));
    });
  }

  it("starts, prints its URL and serves the deployment and the page with the strict CSP", async () => {
    // A yard named that nobody serves: the console's /icons says so per yard, the page's CSP unchanged.
    const r = icon([
      "--rpc",
      chain.url,
      "--deployment",
      file,
      "console",
      "--port",
      "0",
      "--yard-http",
      "http://127.0.0.1:9",
    ]);
    try {
      const url = await servedAt(r);
      const served = (await (await fetch(new URL("deployment.json", url))).json()) as {
        deployment: Record<string, unknown>;
        rpcUrl: string;
      };
      expect(served.rpcUrl).to.equal(chain.url);
      expect(served.deployment).to.include({ market: deployment.market, token: deployment.token, chainId: 31337 });
      const page = await fetch(url);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.contain('<script type="module"');
      expect(page.headers.get("content-security-policy")).to.equal(consoleCsp(chain.url));
      expect(page.headers.get("content-security-policy")).to.not.contain("unsafe-");
      expect(r.o.stderr).to.contain(`owner console for the market ${deployment.market} on chain 31337`);
      const unsigned = await fetch(new URL("icons?app=1", url));
      expect(unsigned.status).to.equal(401);
      expect(((await unsigned.json()) as { error: string }).error).to.contain("a signed read grant is needed");
      const signed = `grant=${encodeURIComponent(
        `app=1&yard=0x${"33".repeat(20)}&reader=0x${"11".repeat(20)}&expiry=${Math.floor(Date.now() / 1000) + 60}&sig=0x${"22".repeat(65)}&url=http://127.0.0.1:9`,
      )}`;
      const viaYards = (await (await fetch(new URL(`icons?${signed}`, url))).json()) as {
        icons: unknown[];
        yards: { yard: string; status: number; error: string }[];
      };
      expect(viaYards).to.deep.equal({
        icons: [],
        yards: [{ yard: "http://127.0.0.1:9", status: 0, error: "unreachable or not JSON" }],
      });
    } finally {
      r.child.kill("SIGINT");
      await r.exit;
    }
  });

  it("refuses a --yard-http that is not an http(s) origin", async () => {
    const r = icon(["--rpc", chain.url, "--deployment", file, "console", "--port", "0", "--yard-http", "ftp://yard/x"]);
    expect(await r.exit).to.not.equal(0);
    expect(r.o.stderr).to.contain('--yard-http takes http(s)://host:port URLs, got "ftp://yard/x"');
  });

  it("refuses an RPC URL with credentials, a path or a query unless --page-rpc names the page's, saying why", async () => {
    const port = new URL(chain.url).port;
    for (const [rpc, what] of [
      [`http://owner:s3cret@127.0.0.1:${port}/`, "credentials"],
      [`http://127.0.0.1:${port}/v2/k3y`, "a path"],
      [`http://127.0.0.1:${port}/?apikey=k3y`, "a query"],
    ] as const) {
      const r = icon(["--rpc", rpc, "--deployment", file, "console", "--port", "0"]);
      const code = await r.exit;
      expect(code, rpc).to.not.equal(0);
      expect(r.o.stdout).to.equal("");
      expect(r.o.stderr)
        .to.contain(`the chain's RPC URL (http://127.0.0.1:${port}) has ${what}`)
        .and.contain("pass --page-rpc <url>");
      expect(r.o.stderr).to.not.contain("s3cret").and.not.contain("k3y");
    }
    // With --page-rpc the owner chose what the page sees: it starts.
    const r = icon([
      "--rpc",
      `http://127.0.0.1:${port}/?apikey=k3y`,
      "--deployment",
      file,
      "console",
      "--port",
      "0",
      "--page-rpc",
      chain.url,
    ]);
    try {
      const url = await servedAt(r);
      const served = (await (await fetch(new URL("deployment.json", url))).json()) as { rpcUrl: string };
      expect(served.rpcUrl).to.equal(chain.url);
    } finally {
      r.child.kill("SIGINT");
      await r.exit;
    }
  });

  it("without --deployment finds the chain's deployment file as every chain command does, failing over past a dead --rpc, and gives the page the endpoint that answered", async () => {
    // deployments/chain-<id>.json below the working directory (the icon child runs in `dir`).
    await mkdir(path.join(dir, "deployments"), { recursive: true });
    await copyFile(file, path.join(dir, "deployments/chain-31337.json"));
    // Port 1 is refused at once ("bad port"): the first endpoint is dead, the failover client goes on to the second.
    const rpcs = ["--rpc", "http://127.0.0.1:1", "--rpc", chain.url];
    const r = icon([...rpcs, "console", "--port", "0"]);
    try {
      const url = await servedAt(r);
      const served = (await (await fetch(new URL("deployment.json", url))).json()) as {
        deployment: Record<string, unknown>;
        rpcUrl: string;
      };
      expect(served.deployment).to.include({ market: deployment.market, chainId: 31337 });
      // Not the dead first --rpc: the page would read nothing.
      expect(served.rpcUrl).to.equal(chain.url);
      expect(r.o.stderr).to.contain(`on chain 31337 (deployment ${path.join("deployments", "chain-31337.json")})`);
    } finally {
      r.child.kill("SIGINT");
      await r.exit;
    }
  });

  it("builds again after a build that did not complete (no completion stamp), not after one that did", async () => {
    const stamp = path.join(dir, "stamp");
    let builds = 0;
    // Fault injected: the first build stops half-way, as when Ctrl-C or a crash cuts it short.
    const interrupted = () => {
      builds++;
      return Promise.reject(new Error("interrupted"));
    };
    const completes = () => {
      builds++;
      return Promise.resolve();
    };
    await buildUnlessStamped(stamp, "fp-1", false, interrupted).then(
      () => expect.fail("the interrupted build resolved"),
      (e: Error) => expect(e.message).to.equal("interrupted"),
    );
    expect(await readFile(stamp, "utf8").catch(() => "none")).to.equal("none");
    expect((await buildUnlessStamped(stamp, "fp-1", false, completes)).built).to.equal(true);
    expect((await buildUnlessStamped(stamp, "fp-1", false, completes)).built).to.equal(false);
    // Sources (or package-lock.json) changed: another fingerprint, built again; a build cut short removes the stamp.
    expect((await buildUnlessStamped(stamp, "fp-2", false, completes)).built).to.equal(true);
    await buildUnlessStamped(stamp, "fp-3", false, interrupted).catch(() => undefined);
    expect((await buildUnlessStamped(stamp, "fp-2", false, completes)).built).to.equal(true);
    expect(builds).to.equal(5);
  });
});
