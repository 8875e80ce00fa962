/**
 * `icon deploy --network <name>` as a user runs it against a chain that is not the embedded dev chain: a `hardhat
 * node` this test starts (its own chain id, so neither --dev-account nor Ignition's dev-chain shortcuts apply),
 * declared by ICON_RPC_URL_<NAME> with a secret in the URL's path (as hosted RPCs carry API keys), the deployer's
 * key in an encrypted keystore. The market goes over a USDC-like token (6 decimals, permit version "2", no
 * ERC-5267), the deployment file records chain id, addresses and block, and the other commands use it through the
 * same --network. Neither the key nor the URL's secret is ever printed.
 */
import { expect } from "chai";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ContractFactory, JsonRpcProvider, NonceManager, Wallet, type InterfaceAbi } from "ethers";
import { devKeys, projectRoot } from "../../scripts/lib/hardhat.ts";

const run = promisify(execFile);
const cli = path.join(projectRoot, "scripts/cli/icon.ts");
const SECRET = "k3y-0f-th3-rpc-pr0v1d3r";

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, "close");
  return port;
}

describe("icon deploy --network: a named network through Hardhat Ignition", function () {
  this.timeout(300_000);
  const chainId = 910_000 + (process.pid % 10_000);
  const [deployerKey, adminKey] = devKeys(2) as [string, string];
  let node: ChildProcess;
  let url: string;
  let dir: string;
  let keystore: string;
  let token: string;
  let feeToken: string;
  const password = "correct horse battery staple";
  const env = (): Record<string, string> => ({
    ICON_RPC_URL_PUBLIC_LIKE: `${url}/v2/${SECRET}`,
    ICON_KEYSTORE_PASSWORD: password,
  });

  async function icon(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await run(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, ...env() } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    node = spawn(
      process.execPath,
      [
        path.join(projectRoot, "node_modules/hardhat/dist/src/cli.js"),
        "node",
        "--port",
        String(port),
        "--chain-id",
        String(chainId),
      ],
      { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    let seen = "";
    await new Promise<void>((resolve, reject) => {
      node.stdout!.on("data", (b: Buffer) => {
        seen += b.toString();
        if (seen.includes("JSON-RPC server at")) resolve();
      });
      node.once("exit", (code) => reject(new Error(`hardhat node exited (${code}): ${seen}`)));
    });
    dir = await mkdtemp(path.join(tmpdir(), "icon-network-"));
    keystore = path.join(dir, "deployer.json");
    await writeFile(keystore, await new Wallet(deployerKey).encrypt(password));
    // The token exists before the market, as USDC does on a public network; the deployer holds a little of it.
    const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const admin = new NonceManager(new Wallet(adminKey, provider));
      const deploy = async (name: string, ...args: unknown[]) => {
        const file = path.join(projectRoot, `artifacts/contracts/mocks/${name}.sol/${name}.json`);
        const a = JSON.parse(await readFile(file, "utf8")) as { abi: InterfaceAbi; bytecode: string };
        const t = await new ContractFactory(a.abi, a.bytecode, admin).deploy(...args);
        await t.waitForDeployment();
        await (await t.getFunction("mint")(new Wallet(deployerKey).address, 50_000_000n)).wait();
        return t;
      };
      token = await (await deploy("UsdcLikeTokenMock", false)).getAddress();
      const fee = await deploy("FeeOnTransferTokenFake");
      await (await fee.getFunction("setFee")(100)).wait();
      feeToken = await fee.getAddress();
    } finally {
      provider.destroy();
    }
  });

  after(async () => {
    node?.kill("SIGTERM");
    await rm(path.join(projectRoot, "contracts/ignition/deployments", `chain-${chainId}`), {
      recursive: true,
      force: true,
    });
  });

  it("deploys over the token, writes chain id, addresses and block, and the other commands use the file", async () => {
    const r = await icon([
      "deploy",
      "--network",
      "public-like",
      "--token",
      token,
      "--keystore",
      keystore,
      "--confirmations",
      "1",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain("USDC moves exactly");
    const d = JSON.parse(await readFile(path.join(dir, `deployments/chain-${chainId}.json`), "utf8"));
    expect(d).to.include({ chainId, token });
    for (const k of ["registry", "market", "accessManager"]) expect(d[k]).to.match(/^0x[0-9a-fA-F]{40}$/);
    const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
    try {
      // The recorded block is the one the first of the market's contracts was created in.
      expect(await provider.getCode(d.registry, d.blockNumber - 1)).to.equal("0x");
      expect(await provider.getCode(d.registry, d.blockNumber)).to.not.equal("0x");
    } finally {
      provider.destroy();
    }

    const controller = Wallet.createRandom().address;
    const create = await icon([
      "budget",
      "create",
      "--network",
      "public-like",
      "--keystore",
      keystore,
      "--controller",
      controller,
      "--deposit",
      "12.5",
    ]);
    expect(create.code, create.stderr).to.equal(0);
    const root = create.stdout
      .trim()
      .split(/\s+/)
      .find((w) => /^\d+$/.test(w));
    const show = await icon(["budget", "show", root!, "--network", "public-like"]);
    expect(show.code, show.stderr).to.equal(0);
    expect(show.stdout).to.contain(`#${root} 12.5 USDC  controller ${controller}`);

    for (const x of [r, create, show]) {
      const all = x.stdout + x.stderr;
      expect(all).to.not.contain(SECRET);
      expect(all.toLowerCase()).to.not.contain(deployerKey.slice(2).toLowerCase());
    }
  });

  it("refuses to deploy over a token that takes a fee on transfer, with a sentence, and deploys nothing", async () => {
    const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true });
    try {
      const deployer = new Wallet(deployerKey).address;
      const nonce = await provider.getTransactionCount(deployer);
      const r = await icon(["deploy", "--network", "public-like", "--token", feeToken, "--keystore", keystore]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(
        `error: refusing to deploy the market over the token at ${feeToken} (FEE): sending 0.01 FEE to a fresh address took 0.01 FEE from the sender and delivered 0.0099 FEE`,
      );
      // Only the probe's one transfer was sent: no contract was created.
      expect(await provider.getTransactionCount(deployer)).to.equal(nonce + 1);
    } finally {
      provider.destroy();
    }
  });

  it("refuses a network nobody declared, naming the variable to set", async () => {
    const r = await icon(["deploy", "--network", "nowhere", "--keystore", keystore]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('no network "nowhere" is declared: set ICON_RPC_URL_NOWHERE to its JSON-RPC URL');
    const show = await icon(["budget", "show", "1", "--network", "nowhere"]);
    expect(show.stderr).to.contain("--network nowhere: set ICON_RPC_URL_NOWHERE to its JSON-RPC URL");
  });
});
