/**
 * What only the ICONs know, in the owner console (Chromium, as console.test.ts): a real in-process yard on real
 * Docker holds a real lease of the owner's application (RFQ → quote → accept → opened over libp2p, on the embedded
 * chain); the ICON's status is handed to the yard's status board as its sidecar's `POST /status` hands it (the
 * board's `push`, the gateway's own call — no sidecar container runs here); `icon console`'s server is given the
 * yard's HTTP address. The owner signs the read grant for that yard (naming its operator; shown in words first), the
 * page shows the ICON's policy version, subnets and decisions with their U numbers and latency before/after; a
 * policy change through the UI shows "not reached" until the ICON reports the new version, then the new version. The page's CSP stays as it was (no
 * violation), axe finds no serious violation, a screenshot goes to demo-out/console/icons-live.png. A grant naming
 * another yard is not passed to this one.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import {
  consoleCsp,
  ensureConsoleBuilt,
  startConsoleServer,
  type ConsoleServer,
} from "../../../scripts/lib/console-server.ts";
import { projectRoot } from "../../../scripts/lib/hardhat.ts";
import { Tenant, USD, startMarket, type TestMarket } from "../../../scripts/lib/testbed.ts";
import type { IconStatusReport } from "../../../protocol/index.ts";
import type { Yard } from "../../../yard-node/yard.ts";
import { WEB_IMAGE, useDockerYard } from "../../helpers/docker.ts";
import { FAST_LEASE, startTestYard } from "../../helpers/yard.ts";
import { injectTestWallet } from "../../helpers/test-wallet.ts";

const OUT = path.join(projectRoot, "demo-out/console");
const CHROMIUM = process.env.ICON_CHROMIUM ?? "/usr/bin/chromium";
const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

describe("owner console: the ICONs' status from a real yard, live", function () {
  this.timeout(240_000);
  const docker = useDockerYard("cicons");
  let m: TestMarket;
  let yard: Yard;
  let tenant: Tenant;
  let lease: bigint;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;

  const report = (policyVersion: number): IconStatusReport => ({
    name: "origin",
    account: tenant.account.toString(),
    instance: 1,
    policyVersion,
    atMs: Date.now(),
    subnets: [
      { subnet: "198.18.4.0/24", ratePerS: 12.5, latencyMs: 8.25 },
      { subnet: "198.18.6.0/24", ratePerS: 3, latencyMs: 21.5 },
    ],
    decisions: [
      { atMs: Date.now() - 5000, text: "stay at cloud", u: 0.412, uBest: 0.418, latency: [] },
      {
        atMs: Date.now() - 1000,
        text: "move to edge-b",
        u: 0.412,
        uBest: 0.733,
        latency: [{ subnet: "198.18.4.0/24", beforeMs: 31.5, afterMs: 8.25 }],
      },
    ],
  });

  before(async () => {
    await ensureConsoleBuilt();
    m = await startMarket();
    yard = await startTestYard(m, 1, docker.get().yardId, { lease: FAST_LEASE });
    tenant = await Tenant.create(m, 2, 3, USD(20));
    const web = "0x" + (await docker.get().runtime.imageId(WEB_IMAGE))!.slice(7);
    // A slot far longer than the suite can take on a loaded machine: the board forgets a report when its lease ends.
    ({ leaseId: lease } = await tenant.open(yard.node.getMultiaddrs()[0]!, tenant.rfq(web, { slotSeconds: 900 })));
    server = await startConsoleServer({ deployment: m.deployment, rpcUrl: m.chain.url, yardHttp: [yard.httpUrl] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(30_000);
    await injectTestWallet(page, { key: m.keys[2]!, rpcUrl: m.chain.url, chainId: m.deployment.chainId });
    await page.addInitScript({
      content:
        "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    await mkdir(OUT, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await tenant?.node.stop();
    await yard?.stop();
    await m?.close();
  });

  async function continueFlow(): Promise<string> {
    await page.click("#flow [data-action=confirm]");
    const outcome = page.locator("#flow .outcome.ok, #flow .outcome.fail");
    await outcome.waitFor({ timeout: 60_000 });
    const text = (await outcome.textContent()) ?? "";
    await page.locator("body:not([data-busy]):not([data-loading])").waitFor();
    await page.click("#flow [data-action=cancel]");
    return text;
  }

  it("shows, after one read grant, the ICON's policy version, subnets and decisions with U as its yard serves them", async () => {
    yard.icons.push(lease.toString(), report(1));
    await page.goto(server.url);
    await page.click("[data-wallet='org.icon-market.test-wallet']");
    await page.locator(`[data-app="${tenant.account}"]`).waitFor();
    await page.click("[data-action=read-icons]");
    // One signature for the one yard, naming it (its operator, as the yard gives it to the console's server). The
    // flow is drawn once the console's server has listed the yards (a read, retried when the host's network changes:
    // read at once, the words were not there yet with Docker networks coming and going beside: a CI failure).
    await page.locator("#flow .words").first().waitFor();
    const words = await page.locator("#flow .words").allTextContents();
    expect(words).to.have.length(1);
    expect(words[0])
      .to.contain(`A read grant, no transaction and no cost`)
      .and.contain(m.deployment.market)
      .and.contain(`the yard at ${yard.httpUrl} (operator ${yard.operator})`)
      .and.contain("no other yard accepts it");
    expect(await continueFlow()).to.contain("read grant for application");
    const icon = page.locator(`[data-icon="${lease}"]`);
    await icon.waitFor();
    const text = (await icon.textContent()) ?? "";
    expect(text)
      // The yard as the console's server asked it (its --yard-http URL), not as the yard names itself.
      .to.contain(`lease ${lease} at ${yard.httpUrl}`)
      .and.contain("198.18.4.0/24")
      .and.contain("12.50")
      .and.contain("8.3 ms")
      .and.contain("move to edge-b · U stay 0.412, U best 0.733")
      .and.contain("198.18.4.0/24: 31.5 ms before → 8.3 ms after");
    expect(await icon.locator("[data-field=policy-version]").textContent()).to.equal("v1");
    await page.evaluate(axeSource);
    const found = (await page.evaluate(
      `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id))`,
    )) as string[];
    expect(found).to.deep.equal([]);
    await page.screenshot({ path: path.join(OUT, "icons-live.png"), fullPage: true });
  });

  it("after a policy change through the UI shows the new version not reached, then reached once the ICON reports it", async () => {
    await page.fill("form[data-form=policy] input[name=weight]", "0.3");
    await page.click("form[data-form=policy] button[type=submit]");
    expect(await continueFlow()).to.contain("policy v2 published");
    const version = page.locator(`[data-icon="${lease}"] [data-field=policy-version]`);
    await page.locator(`[data-icon="${lease}"]`, { hasText: "the chain has v2; not reached this ICON yet" }).waitFor();
    expect(await version.textContent()).to.equal("v1");
    // The ICON read the new policy (the agent's "tree: policy v2 in force") and reports it: the page follows (polled).
    yard.icons.push(lease.toString(), report(2));
    await page.locator(`[data-icon="${lease}"] [data-field=policy-version]`, { hasText: "v2" }).waitFor();
    expect(await page.locator(`[data-icon="${lease}"]`).textContent()).to.contain("(the chain's)");
    await page.screenshot({ path: path.join(OUT, "policy-reached.png"), fullPage: true });
  });

  it("kept its CSP as it was (connect-src self and the RPC) with no violation; a stranger's grant gets the yard's refusal", async () => {
    expect(await page.evaluate("window.__csp")).to.deep.equal([]);
    const res = await fetch(server.url);
    expect(res.headers.get("content-security-policy")).to.equal(consoleCsp(m.chain.url));
    // A grant signed by someone else for this app: the console's server passes the yard's 403 and sentence on.
    const { STATUS_GRANT_TYPES, marketDomain, statusGrantQuery, statusGrantsQuery } =
      await import("../../../protocol/index.ts");
    const signed = async (w: Wallet, yardOperator: string): Promise<string> => {
      const grant = {
        app: tenant.account,
        yard: yardOperator,
        reader: w.address,
        expiry: BigInt(Math.floor(Date.now() / 1000) + 60),
      };
      const domain = marketDomain(BigInt(m.deployment.chainId), m.deployment.market);
      return statusGrantQuery(grant, await w.signTypedData(domain, STATUS_GRANT_TYPES, grant));
    };
    const stranger = new Wallet(m.keys[7]!);
    const r = await fetch(
      `${server.url}icons?${statusGrantsQuery([{ url: yard.httpUrl, query: await signed(stranger, yard.operator) }])}`,
    );
    const body = (await r.json()) as { error?: string; icons: unknown[] };
    expect(r.status).to.equal(403);
    expect(body.error).to.contain("is neither the owner");
    expect(body.icons).to.deep.equal([]);
    // The owner's own grant for another yard is not passed to this one: it is told to sign one for it.
    const owner = new Wallet(m.keys[2]!);
    const elsewhere = await fetch(
      `${server.url}icons?${statusGrantsQuery([{ url: yard.httpUrl, query: await signed(owner, Wallet.createRandom().address) }])}`,
    );
    expect(elsewhere.status).to.equal(401);
    expect(((await elsewhere.json()) as { error: string }).error).to.equal(
      `no read grant names this yard (operator ${yard.operator}); sign one for it`,
    );
    const bad = await fetch(`${server.url}icons?app=1`);
    expect(bad.status).to.equal(401);
  });
});
