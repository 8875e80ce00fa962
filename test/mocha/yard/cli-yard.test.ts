/**
 * `icon yard start` and `icon yard status` as an operator first meets them: real processes, no chain and no
 * Docker. Every mistake made before the yard can run (no --config, a missing or broken file, an invalid config,
 * no key, nobody listening) ends with a non-zero exit and sentences that say what to do, never a stack trace.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";
import { yardConfig, type TestMarket } from "../../../scripts/lib/testbed.ts";

const run = promisify(execFile);
const cli = path.join(projectRoot, "scripts/cli/icon.ts");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without any key, keystore or endpoint an operator's shell might carry. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ["ICON_PRIVATE_KEY", "ICON_KEYSTORE", "ICON_KEYSTORE_PASSWORD", "ICON_RPC_URL", "ICON_DEBUG"])
    if (!(k in extra)) delete env[k];
  return env;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** No stack frames, no raw error objects: what the operator reads is sentences. */
function expectNoTrace(r: Result): void {
  expect(r.stderr).to.not.match(/^\s+at .+[(:]\d+/m);
  expect(r.stderr).to.not.match(/file:\/\/|node:internal|ZodError|\[object Object\]/);
}

describe("icon yard (CLI, no chain needed)", function () {
  this.timeout(60_000);
  let dir: string;
  let deadRpc: string;

  async function icon(args: string[], env: Record<string, string> = {}): Promise<Result> {
    try {
      const r = await run(process.execPath, [cli, ...args], { cwd: dir, env: cleanEnv(env), timeout: 30_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  /** A valid config (the testbed's) pointing at a chain nobody serves; `edit` may break it. */
  async function configFile(name: string, edit: (c: Record<string, unknown>) => void = () => {}): Promise<string> {
    const market = {
      dir,
      chain: { url: deadRpc },
      deploymentFile: path.join(dir, "deployment.json"),
    } as unknown as TestMarket;
    const c = structuredClone(yardConfig(market, "edge-cli")) as unknown as Record<string, unknown>;
    edit(c);
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(c, null, 2));
    return file;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "icon-cli-yard-"));
    deadRpc = `http://127.0.0.1:${await closedPort()}`;
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("lists yard start and yard status in the help", async () => {
    for (const args of [["--help"], ["yard", "--help"], ["help"]]) {
      const r = await icon(args);
      expect(r.code, `icon ${args.join(" ")}`).to.equal(0);
      expect(r.stdout).to.match(/^\s+icon yard start\s+\S/m);
      expect(r.stdout).to.match(/^\s+icon yard status\s+\S/m);
    }
    const start = await icon(["yard", "start", "--help"]);
    expect(start.code).to.equal(0);
    expect(start.stdout).to.contain("usage: icon yard start --config <file>");
    const status = await icon(["yard", "status", "--help"]);
    expect(status.stdout).to.contain("usage: icon yard status (--config <file> | --url <http://host:port>)");
    const bare = await icon(["yard"]);
    expect(bare.code).to.equal(2);
    expect(bare.stderr).to.contain("choose one of: start, status");
  });

  it("yard start without --config says --config is required", async () => {
    const r = await icon(["yard", "start"]);
    expect(r.code).to.be.oneOf([1, 2]);
    expect(r.stderr).to.match(/--config <file> is required/);
    expect(r.stdout).to.equal("");
    expectNoTrace(r);
  });

  it("yard start with an unknown option names it and shows the usage", async () => {
    const r = await icon(["yard", "start", "--confg", "x.json"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("--confg");
    expect(r.stderr).to.contain("usage: icon yard start --config <file>");
  });

  it("yard start with a config file that does not exist names the file", async () => {
    const missing = path.join(dir, "nope", "yard.json");
    const r = await icon(["yard", "start", "--config", missing]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`cannot read the yard config ${missing}`);
    expectNoTrace(r);
  });

  it("yard start with a file that is not JSON says so", async () => {
    const file = path.join(dir, "broken.json");
    await writeFile(file, '{ "yardId": "edge-a", }\n');
    const r = await icon(["yard", "start", "--config", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`${file} is not valid JSON`);
    expectNoTrace(r);
  });

  it("yard start with an invalid config lists each bad field with its fix", async () => {
    const file = await configFile("invalid.json", (c) => {
      (c.listing as Record<string, unknown>).regoin = "eu";
      (c.capacity as Record<string, unknown>).cpuMillis = -5;
      (c.pricing as Record<string, unknown>).floorPerSecond = "10";
      delete c.yardId;
    });
    const r = await icon(["yard", "start", "--config", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`${file} is not a valid yard configuration:`);
    const lines = r.stderr.split("\n");
    const line = (field: string): string | undefined => lines.find((l) => l.startsWith(`  ${field}: `));
    expect(line("listing")).to.match(/unknown field\(s\) regoin; remove them or fix the spelling/);
    expect(line("capacity.cpuMillis")).to.match(/greater than or equal to 1/);
    expect(line("pricing.floorPerSecond")).to.match(/an amount like "100 units"/);
    expect(line("yardId")).to.match(/missing; add it/);
    expect(r.stdout).to.equal("");
    expectNoTrace(r);
  });

  it("yard start with a config the schema accepts but that contradicts itself names the field", async () => {
    const file = await configFile("contradiction.json", (c) => {
      (c.capacity as Record<string, unknown>).minMemoryMiB = 8192;
    });
    const r = await icon(["yard", "start", "--config", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^ {2}capacity\.minMemoryMiB: larger than capacity\.memoryMiB; lower it$/m);
    expectNoTrace(r);
  });

  it("yard start without a key says to pass --keystore or set ICON_PRIVATE_KEY, before touching the chain", async () => {
    const file = await configFile("nokey.json");
    const r = await icon(["yard", "start", "--config", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/--keystore <file>/);
    expect(r.stderr).to.match(/ICON_PRIVATE_KEY/);
    // it did not try (and fail) to reach the dead chain first
    expect(r.stderr).to.not.match(/cannot reach|UNREACHABLE|ECONNREFUSED/i);
    expect(r.stdout).to.equal("");
    expectNoTrace(r);
    const badLevel = await icon(["yard", "start", "--config", file, "--log-level", "loud"]);
    expect(badLevel.code).to.equal(1);
    expect(badLevel.stderr).to.contain('--log-level must be debug, info, warn or error, got "loud"');
  });

  it("yard status says no yard answers at a closed port", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await icon(["yard", "status", "--url", url]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`no yard answers at ${url}`);
    expect(r.stderr).to.contain("icon yard start --config");
    expect(r.stdout).to.equal("");
    expectNoTrace(r);
  });

  it("yard status needs --url or a config with a fixed http port", async () => {
    const none = await icon(["yard", "status"]);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/--config <file>.*--url <http:\/\/host:port>/);
    const file = await configFile("random-port.json"); // the testbed's config listens on port 0
    const random = await icon(["yard", "status", "--config", file]);
    expect(random.code).to.equal(1);
    expect(random.stderr).to.contain("http.port is 0 (random); pass --url instead");
    const port = await closedPort();
    const fixed = await configFile("fixed-port.json", (c) => (c.http = { host: "127.0.0.1", port }));
    const down = await icon(["yard", "status", "--config", fixed]);
    expect(down.code).to.equal(1);
    expect(down.stderr).to.contain(`no yard answers at http://127.0.0.1:${port}`);
    expectNoTrace(down);
  });
});
