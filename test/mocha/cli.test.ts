/**
 * The `icon` CLI as a user runs it: a real process against an embedded chain served over JSON-RPC.
 * Asserts outputs, exit codes and that refusals read as sentences (never a raw revert blob or a key).
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet } from "ethers";
import { readAgentState } from "../../icon-agent/index.ts";
import { devKeys, projectRoot, startDevChain, type DevChain } from "../../scripts/lib/hardhat.ts";

const run = promisify(execFile);
const cli = path.join(projectRoot, "scripts/cli/icon.ts");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe("icon CLI", function () {
  this.timeout(120_000);
  let chain: DevChain;
  let dir: string;

  async function icon(args: string[], env: Record<string, string> = {}): Promise<Result> {
    try {
      const r = await run(process.execPath, [cli, "--rpc", chain.url, ...args], {
        cwd: dir,
        env: { ...process.env, ...env },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  before(async () => {
    chain = await startDevChain("127.0.0.1", 0);
    dir = await mkdtemp(path.join(tmpdir(), "icon-cli-"));
    const r = await icon(["deploy", "--dev-account", "0"]);
    expect(r.code, r.stderr).to.equal(0);
  });
  after(async () => chain.close());

  it("deploys and writes a deployment file other components read", async () => {
    const d = JSON.parse(await readFile(path.join(dir, "deployments/chain-31337.json"), "utf8"));
    expect(d.chainId).to.equal(31337);
    expect(d.market).to.match(/^0x[0-9a-fA-F]{40}$/);
  });

  it("explains itself: --help lists the commands, an unknown command says what to run", async () => {
    const help = await icon(["--help"]);
    expect(help.code).to.equal(0);
    for (const c of [
      "iep register",
      "iep stake",
      "iep unstake",
      "iep withdraw",
      "iep status",
      "budget create",
      "budget fund",
      "budget allocate",
      "budget withdraw",
      "budget show",
      "app deploy",
      "app key",
      "app status",
      "app policy",
      "agent run",
    ]) {
      expect(help.stdout).to.contain(`icon ${c}`);
    }
    // Each command explains itself: its usage line with every option, and what it does.
    const deploy = await icon(["app", "deploy", "--help"]);
    expect(deploy.code).to.equal(0);
    expect(deploy.stdout).to.contain("usage: icon app deploy --config <app.json> --state <dir> --deposit <amount>");
    expect(deploy.stdout).to.match(/--no-start/);
    expect(deploy.stdout).to.match(
      /hands it into its lease's agent sidecar .* and exits: nothing of yours needs to run then/,
    );
    expect(deploy.stdout).to.match(/--local: the origin's agent keeps running here/);
    const run = await icon(["agent", "run", "--help"]);
    expect(run.stdout).to.contain("usage: icon agent run --state <dir>");
    const bad = await icon(["iep", "frobnicate"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("choose one of: register");
  });

  it("runs an operator through register, stake, unstake and status with amounts in token units", async () => {
    await icon([
      "token",
      "mint",
      new (await import("ethers")).Wallet(devKeys(2)[1]!).address,
      "1000",
      "--dev-account",
      "0",
    ]);
    const reg = await icon([
      "iep",
      "register",
      "--dev-account",
      "1",
      "--peer-id",
      "0x00240801",
      "--multiaddr",
      "/ip4/127.0.0.1/tcp/4001",
      "--cpu",
      "2000",
      "--memory",
      "4096",
      "--cpu-price",
      "0.00001",
    ]);
    expect(reg.code, reg.stderr).to.equal(0);
    expect((await icon(["iep", "stake", "150.5", "--dev-account", "1"])).stdout).to.contain("staked 150.5 iUSD");
    const unstake = await icon(["iep", "unstake", "500", "--dev-account", "1"]);
    expect(unstake.code).to.equal(1);
    expect(unstake.stderr).to.match(/has 150\.5 iUSD of free bonded stake but 500 iUSD is needed/);
    expect(unstake.stderr).to.not.match(/0x[0-9a-f]{64}/i);
    const ok = await icon(["iep", "unstake", "50", "--dev-account", "1"]);
    expect(ok.stdout).to.contain("unbonding 50 iUSD");
    const early = await icon(["iep", "withdraw", "--dev-account", "1"]);
    expect(early.code).to.equal(1);
    expect(early.stderr).to.contain("the unbonding period is not over");
    const status = await icon(["iep", "status", "--dev-account", "1"]);
    expect(status.stdout).to.contain("ACTIVE");
    expect(status.stdout).to.contain("150.5 iUSD total");
    expect(status.stdout).to.contain("unbonding  50 iUSD");
  });

  it("creates, funds, allocates and shows a budget; refuses what the rules forbid with a sentence", async () => {
    const owner = ["--dev-account", "1"];
    const icon1 = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
    const created = await icon([
      "budget",
      "create",
      "--controller",
      icon1,
      "--deposit",
      "100",
      "--weight",
      "0.7",
      ...owner,
    ]);
    expect(created.code, created.stderr).to.equal(0);
    const root = /application (\d+) created/.exec(created.stdout)![1]!;
    const child = /account (\d+) created/.exec(
      (await icon(["budget", "account", root, "0x90f79bf6eb2c4f870365e785982e1f101e93b906", ...owner])).stdout,
    )![1]!;
    expect((await icon(["budget", "allocate", root, child, "12.25", ...owner])).code).to.equal(0);
    const tooMuch = await icon(["budget", "allocate", root, child, "1000", ...owner]);
    expect(tooMuch.stderr).to.contain(`budget account ${root} holds 87.75 iUSD but 1000 iUSD is needed`);
    const stranger = await icon(["budget", "withdraw", root, "1", "--dev-account", "5"]);
    expect(stranger.stderr).to.match(/may not act on budget account/);
    const show = await icon(["budget", "show", root]);
    expect(show.stdout).to.contain(`#${root} 87.75 iUSD`);
    expect(show.stdout).to.contain(`#${child} 12.25 iUSD`);
    expect(show.stdout).to.contain("w 0.7");
    expect((await icon(["budget", "withdraw", root, "7.75", ...owner])).stdout).to.contain("withdrew 7.75 iUSD");
  });

  it("validates input before touching the chain", async () => {
    const decimals = await icon(["iep", "stake", "1.0000001", "--dev-account", "1"]);
    expect(decimals.stderr).to.contain("has 7 decimals but iUSD has only 6");
    const addr = await icon(["budget", "create", "--controller", "0x1234", "--deposit", "1", "--dev-account", "1"]);
    expect(addr.stderr).to.contain("is not an address");
    const share = await icon([
      "budget",
      "create",
      "--controller",
      "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
      "--weight",
      "7",
      "--dev-account",
      "1",
    ]);
    expect(share.stderr).to.contain("--weight must be a number between 0 and 1");
    const noKey = await icon(["iep", "stake", "1"], { ICON_PRIVATE_KEY: "" });
    expect(noKey.stderr).to.contain("needs a key");
    const zero = await icon(["deploy", "--confirmations", "0", "--dev-account", "0"]);
    expect(zero.code).to.equal(1);
    expect(zero.stderr).to.contain('--confirmations must be an integer between 1 and 64, got "0"');
    for (const name of ["hardhat", "localhost", "target", "default"]) {
      const reserved = await icon(["budget", "show", "1", "--network", name], {
        [`ICON_RPC_URL_${name.toUpperCase()}`]: chain.url,
      });
      expect(reserved.code).to.equal(1);
      expect(reserved.stderr).to.contain(`--network ${name}: "${name}" is a name Hardhat or icon keeps for itself`);
    }
    const fromEnv = await icon(["budget", "show", "1"], { ICON_NETWORK: "localhost" });
    expect(fromEnv.code).to.equal(1);
    expect(fromEnv.stderr).to.contain("ICON_NETWORK=localhost: a network name is lower case");
  });

  it("sends within the fee cap (--max-fee, ICON_MAX_FEE) and refuses, sending nothing, when the chain asks more", async () => {
    const bad = await icon(["iep", "stake", "1", "--dev-account", "1", "--max-fee", "20"]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain('--max-fee "20": a gas price like "30 gwei", "0.01 gwei" or "1500000 wei"');
    const badEnv = await icon(["iep", "stake", "1", "--dev-account", "1"], { ICON_MAX_PRIORITY_FEE: "lots" });
    expect(badEnv.stderr).to.contain("ICON_MAX_PRIORITY_FEE=lots: a gas price like");
    const { JsonRpcProvider, Wallet } = await import("ethers");
    const rpc = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const operator = new Wallet(devKeys(2)[1]!).address;
    const nonce = await rpc.getTransactionCount(operator, "pending");
    const capped = await icon(["iep", "stake", "1", "--dev-account", "1", "--max-fee", "1wei"]);
    expect(await rpc.getTransactionCount(operator, "pending"), "nothing sent").to.equal(nonce);
    rpc.destroy();
    expect(capped.code).to.equal(1);
    expect(capped.stderr).to.match(
      /waits: the chain asks a base fee of [\d.]+ gwei per gas, above the configured cap of 0\.000000001 gwei \(maxFee\); nothing was sent/,
    );
    const ok = await icon(["iep", "stake", "1", "--dev-account", "1"], { ICON_MAX_FEE: "50gwei" });
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain("staked 1 iUSD");
  });

  it("takes several RPC endpoints (--rpc repeated, ICON_RPC_URL comma-separated), failing over from a dead one", async () => {
    // A port nothing listens on (undici refuses well-known ones such as 9 itself, as "bad port").
    const free = createServer().listen(0, "127.0.0.1");
    await once(free, "listening");
    const dead = `http://127.0.0.1:${(free.address() as AddressInfo).port}`;
    free.close();
    const bare = async (args: string[], env: Record<string, string> = {}): Promise<Result> =>
      run(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, ...env } }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: Result) => e,
      );
    const flags = await bare(["--rpc", dead, "--rpc", chain.url, "iep", "status", "--dev-account", "1"]);
    expect(flags.code, flags.stderr).to.equal(0);
    expect(flags.stdout).to.contain("ACTIVE");
    expect(flags.stderr).to.contain(`RPC ${dead} failed on eth_chainId (ECONNREFUSED), using http://127.0.0.1:`);
    const env = await bare(["iep", "status", "--dev-account", "1"], { ICON_RPC_URL: `${dead}, ${chain.url}` });
    expect(env.code, env.stderr).to.equal(0);
    expect(env.stdout).to.contain("ACTIVE");
    const bad = await bare(["iep", "status"], { ICON_RPC_URL: `${chain.url},localhost:8545` });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.contain('ICON_RPC_URL names "localhost:8545", not an http:// or https:// URL');
    const badFlag = await bare(["--rpc", "localhost:8545", "iep", "status"]);
    expect(badFlag.stderr).to.contain("--rpc must be an http:// or https:// URL");
  });

  it("prints the DNS records an operator publishes for discovery, and refuses an IP as SRV target", async () => {
    const peer = "12D3KooWGzh5Jpu4YBWNhzXHBqSH7HWQzbHMd5DKE8Y3W9nRzDg3";
    const z = await icon([
      "iep",
      "zone",
      "--domain",
      "edge-a.example",
      "--host",
      "yard1.edge-a.example",
      "--port",
      "4001",
      "--peer-id",
      peer,
      "--address",
      "203.0.113.7",
    ]);
    expect(z.code, z.stderr).to.equal(0);
    expect(z.stdout).to.contain("_edge._tcp.edge-a.example. 300 IN SRV 10 10 4001 yard1.edge-a.example.");
    expect(z.stdout).to.contain(`"icon-peer=${peer}"`);
    expect(z.stdout).to.contain("yard1.edge-a.example. 300 IN A 203.0.113.7");
    const ip = await icon([
      "iep",
      "zone",
      "--domain",
      "edge-a.example",
      "--host",
      "203.0.113.7",
      "--port",
      "4001",
      "--peer-id",
      peer,
    ]);
    expect(ip.code).to.equal(1);
    expect(ip.stderr).to.contain("an SRV target must be a host name");
  });

  it("deploys an application for the agent, shows it and hot-swaps its policy; refuses a bad app config", async () => {
    const owner = ["--dev-account", "1"];
    const config = path.join(dir, "app.json");
    const good = {
      service: {
        image: "icon/web:1",
        imageDigest: "0x" + "ab".repeat(32),
        ports: [8080],
        httpPorts: [8080],
        name: "shop.web.prod",
        cpuMillis: 250,
        memoryMiB: 64,
      },
      discovery: { domains: ["icon.test"], dnsServers: ["127.0.0.1:5353"] },
      initialRegion: "cloud",
    };
    await writeFile(
      config,
      JSON.stringify({ ...good, service: { ...good.service, ports: [] }, agent: { periodMs: 5 } }),
    );
    const bad = await icon([
      "app",
      "deploy",
      "--config",
      config,
      "--state",
      path.join(dir, "bad"),
      "--deposit",
      "5",
      ...owner,
    ]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain("service.ports: list at least one container port");
    expect(bad.stderr).to.contain("agent.periodMs");
    await writeFile(config, JSON.stringify(good));
    const state = path.join(dir, "origin");
    const r = await icon([
      "app",
      "deploy",
      "--config",
      config,
      "--state",
      state,
      "--deposit",
      "5",
      "--weight",
      "0.7",
      "--no-start",
      "--local",
      ...owner,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const root = /application (\d+) created with 5 iUSD; origin ICON (0x[0-9a-fA-F]{40})/.exec(r.stdout);
    expect(root, r.stdout).to.not.equal(null);
    // The owner learns the namespace the app got, and the state holds the full service key the ICONs deploy.
    expect(r.stdout).to.contain(
      `its namespace label is r${root![1]}: its services are named <app>.r${root![1]}.<service>.<servicens>; this one deploys as shop.r${root![1]}.web.prod`,
    );
    expect(JSON.parse(await readFile(path.join(state, "agent.json"), "utf8")).env.spec.service).to.equal(
      `shop.r${root![1]}.web.prod`,
    );
    expect(r.stdout).to.contain(`icon agent run --state ${state}`);
    expect(((await stat(path.join(state, "key"))).mode & 0o777).toString(8)).to.equal("600");
    expect(r.stdout + r.stderr).to.not.contain((await readFile(path.join(state, "key"), "utf8")).trim());
    const again = await icon(["app", "deploy", "--config", config, "--state", state, "--deposit", "5", ...owner]);
    expect(again.stderr).to.contain("already holds an ICON");
    const st = await icon(["app", "status", root![1]!]);
    expect(st.code, st.stderr).to.equal(0);
    expect(st.stdout).to.contain("policy v1: w=70 %");
    expect(st.stdout).to.contain(`account ${root![1]} ICON ${root![2]!.slice(0, 10)}… balance 5 iUSD; no live lease`);
    const pol = await icon(["app", "policy", root![1]!, "--replicate-threshold", "0.45", ...owner]);
    expect(pol.code, pol.stderr).to.equal(0);
    expect(pol.stdout).to.contain("policy v2 published");
    const st2 = await icon(["app", "status", root![1]!]);
    expect(st2.stdout).to.contain("policy v2: w=70 %, migrate 20 %, replicate 45 %");
    const stranger = await icon(["app", "policy", root![1]!, "--weight", "0.1", "--dev-account", "5"]);
    expect(stranger.code).to.equal(1);
    expect((await icon(["app", "status", root![1]!])).stdout).to.contain("policy v2: w=70 %");
  });

  it("starts the origin of an application created from a browser wallet: app key, the application for its key, app deploy --app; a wrong application is refused and nothing bound", async () => {
    const owner = ["--dev-account", "1"];
    const config = path.join(dir, "wallet-app.json");
    await writeFile(
      config,
      JSON.stringify({
        service: {
          image: "icon/web:1",
          imageDigest: "0x" + "ab".repeat(32),
          ports: [8080],
          name: "shop.web.prod",
          cpuMillis: 250,
          memoryMiB: 64,
        },
        discovery: { domains: ["icon.test"], dnsServers: ["127.0.0.1:5353"] },
        initialRegion: "cloud",
      }),
    );
    const state = path.join(dir, "wallet-origin");
    // No key of the owner's: the origin's own key is made, nothing is sent.
    const k = await icon(["app", "key", "--config", config, "--state", state, "--local"]);
    expect(k.code, k.stderr).to.equal(0);
    const icon1 = /origin ICON key (0x[0-9a-fA-F]{40})/.exec(k.stdout)?.[1];
    expect(icon1, k.stdout).to.be.a("string");
    expect(k.stdout).to.contain(`then start its origin: icon app deploy --state ${state} --app <root>`);
    expect(((await stat(path.join(state, "key"))).mode & 0o777).toString(8)).to.equal("600");
    const prepared: unknown = JSON.parse(await readFile(path.join(state, "agent.json"), "utf8"));
    // Asked again for the same directory: the key there stays (it may control a funded application by now).
    const key = await readFile(path.join(state, "key"), "utf8");
    const again = await icon(["app", "key", "--config", config, "--state", state]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain(`${state} already holds an ICON`);
    expect(await readFile(path.join(state, "key"), "utf8")).to.equal(key);
    // The owner's wallet creates an application for another key (the console's createApp, as budget create does).
    const other = await icon([
      "budget",
      "create",
      "--controller",
      new Wallet(devKeys(8)[7]!).address,
      "--deposit",
      "1",
      ...owner,
    ]);
    const otherRoot = /application (\d+) created/.exec(other.stdout)![1]!;
    const wrong = await icon(["app", "deploy", "--state", state, "--app", otherRoot, "--no-start"]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain(`application ${otherRoot}'s controller is`);
    expect(wrong.stderr).to.contain(`create the application with controller ${icon1}`);
    expect(JSON.parse(await readFile(path.join(state, "agent.json"), "utf8"))).to.deep.equal(prepared);
    // …and one for the origin's key: app deploy --app binds the origin to it and (here --no-start) says how it starts.
    const made = await icon(["budget", "create", "--controller", icon1!, "--deposit", "2", ...owner]);
    const root = /application (\d+) created with 2 iUSD/.exec(made.stdout)![1]!;
    const bad = await icon(["app", "deploy", "--state", state, "--app", root, "--deposit", "5"]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain("--config, --deposit and --local belong to icon app key and the console");
    const policy = await icon([
      "app",
      "deploy",
      "--state",
      state,
      "--app",
      root,
      "--weight",
      "0.7",
      "--max-price",
      "1",
    ]);
    expect(policy.code).to.equal(1);
    expect(policy.stderr).to.contain("--weight, --max-price belong to the console's Policy form or to icon app policy");
    // A child account of the application (its controller the origin's key too) is no application root.
    const child = await icon(["budget", "account", root, icon1!, ...owner]);
    const childId = /account (\d+) created under/.exec(child.stdout)![1]!;
    const notRoot = await icon(["app", "deploy", "--state", state, "--app", childId, "--no-start"]);
    expect(notRoot.stderr).to.contain(`account ${childId} is not an application root (its root is ${root})`);
    expect(JSON.parse(await readFile(path.join(state, "agent.json"), "utf8"))).to.deep.equal(prepared);
    const r = await icon(["app", "deploy", "--state", state, "--app", root, "--no-start"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`origin ICON ${icon1} (state in ${state}) bound to application ${root}`);
    expect(r.stdout).to.contain(`this one deploys as shop.r${root}.web.prod`);
    expect(r.stdout).to.contain(`icon agent run --state ${state}`);
    const bound = await readAgentState(state);
    expect(bound.env.spec.service).to.equal(`shop.r${root}.web.prod`);
    expect([bound.seed.root, bound.seed.account]).to.deep.equal([BigInt(root), BigInt(root)]);
    expect(new Wallet(bound.key).address).to.equal(icon1);
    const twice = await icon(["app", "deploy", "--state", state, "--app", root, "--no-start"]);
    expect(twice.stderr).to.contain(`is the origin of application ${root} already`);
    expect(r.stdout + r.stderr + k.stdout + k.stderr).to.not.contain(
      (await readFile(path.join(state, "key"), "utf8")).trim(),
    );
  });

  it("never prints a private key, even a malformed one", async () => {
    const secret = "ab".repeat(31) + "zz";
    const r = await icon(["iep", "stake", "1"], { ICON_PRIVATE_KEY: secret });
    expect(r.stderr).to.contain("ICON_PRIVATE_KEY is not a 32-byte hex private key");
    expect(r.stderr + r.stdout).to.not.contain(secret);
  });

  it("reads keys from an encrypted keystore and refuses a wrong password", async () => {
    const file = path.join(dir, "k.json");
    const made = await icon(["key", "new", file], { ICON_KEYSTORE_PASSWORD: "correct horse" });
    expect(made.stdout.trim()).to.match(/^0x[0-9a-fA-F]{40}$/);
    const addr = await icon(["key", "address", "--keystore", file], { ICON_KEYSTORE_PASSWORD: "correct horse" });
    expect(addr.stdout.trim()).to.equal(made.stdout.trim());
    const wrong = await icon(["key", "address", "--keystore", file], { ICON_KEYSTORE_PASSWORD: "wrong" });
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain("wrong password");
  });

  it("refuses the public dev keys on any chain but the dev chain", async () => {
    const other = await startDevChain("127.0.0.1", 0, 1337);
    try {
      const r = await run(process.execPath, [cli, "--rpc", other.url, "key", "address", "--dev-account", "0"], {
        cwd: dir,
      }).catch((e) => e as Result);
      expect(r.stderr).to.contain("accepted only on the dev chain (31337)");
      expect(r.stdout).to.equal("");
    } finally {
      await other.close();
    }
    const unreachable = await run(process.execPath, [cli, "--rpc", "http://127.0.0.1:9", "iep", "stake", "1"], {
      cwd: dir,
    }).catch((e) => e as Result);
    expect(unreachable.stderr).to.contain("cannot reach the chain at http://127.0.0.1:9");
  });
});

describe("icon launcher (scripts/icon)", function () {
  this.timeout(120_000);
  const launcher = path.join(projectRoot, "scripts/icon");
  const launch = (env: Record<string, string>): Promise<Result> =>
    run(launcher, ["--help"], { env: { ...process.env, ...env } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: unknown) => e as Result,
    );

  it("refuses a bad V8 memory setting before it starts anything, naming the variable and its range", async () => {
    for (const [name, value, range] of [
      ["ICON_SEMI_SPACE_MIB", "0", "from 1 to 256"],
      ["ICON_SEMI_SPACE_MIB", "16m", "from 1 to 256"],
      ["ICON_HEAP_GROWING_PERCENT", "401", "from 0 to 400"],
      ["ICON_HEAP_GROWING_PERCENT", "-5", "from 0 to 400"],
    ] as const) {
      const r = await launch({ [name]: value });
      expect(r.code, `${name}=${value}`).to.equal(2);
      expect(r.stderr).to.contain(`${name} must be a whole number`).and.contain(range).and.contain(`'${value}'`);
      expect(r.stdout).to.equal("");
    }
  });

  it("runs with V8's own heap growth when ICON_HEAP_GROWING_PERCENT is 0", async () => {
    const r = await launch({ ICON_HEAP_GROWING_PERCENT: "0" });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("usage: icon <command>");
  });
});

describe("demo:market", function () {
  this.timeout(180_000);
  it("tells the market story and ends with balanced books on chain", async () => {
    const r = await run(process.execPath, [path.join(projectRoot, "scripts/demo-market.ts")], { cwd: projectRoot });
    const line = r.stdout.split("\n").find((l) => l.startsWith("DEMO-SUMMARY "));
    expect(line, r.stdout).to.not.equal(undefined);
    const s = JSON.parse(line!.slice("DEMO-SUMMARY ".length));
    expect(s.budgetConserved).to.equal(true);
    expect(s.refusedAsExpected).to.equal(2);
    expect(BigInt(s.spent)).to.equal(BigInt(s.paidToProvider));
    expect(BigInt(s.paidToProvider) > 0n).to.equal(true);
  });
});
