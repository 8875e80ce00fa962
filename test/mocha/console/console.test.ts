/**
 * The owner console in real Chromium (Debian's `chromium`, driven by playwright-core over CDP; no browser
 * download): the page `icon console` serves, a test wallet injected as an EIP-1193 provider that announces itself
 * per EIP-6963 and signs with a dev key on the Node side (test/helpers/test-wallet.ts), an embedded chain with the
 * market deployed. Each owner flow is driven through the UI and its effect asserted on chain; the wallet refusing
 * (4001) changes nothing; the wrong chain brings the switch prompt (and 4902 the add-chain request); a revert reads
 * as the CLI's sentence. axe-core finds no serious or critical violation; the strict CSP is never violated.
 * Screenshots of each main view go to demo-out/console/; the first view's time and the bundle's size are printed
 * (and written to demo-out/console/metrics.json).
 */
import { expect } from "chai";
import { ContractFactory, JsonRpcProvider, Wallet, getAddress, type BaseWallet, type InterfaceAbi } from "ethers";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { chromium, type Browser, type Page, type Request, type Route } from "playwright-core";
import type { Offer } from "../../../protocol/eip712.ts";
import { MarketClient } from "../../../protocol/chain/client.ts";
import type { Deployment } from "../../../protocol/chain/deployment.ts";
import {
  CONSOLE_DIST,
  consoleCsp,
  ensureConsoleBuilt,
  startConsoleServer,
  type ConsoleServer,
} from "../../../scripts/lib/console-server.ts";
import { deployMarket, devKeys, projectRoot, startDevChain, type DevChain } from "../../../scripts/lib/hardhat.ts";
import { AddressChurn } from "../../helpers/faults.ts";
import { listing, openSignedLease } from "../../helpers/market.ts";
import { injectTestWallet, type TestWallet } from "../../helpers/test-wallet.ts";

const OUT = path.join(projectRoot, "demo-out/console");
const CHROMIUM = process.env.ICON_CHROMIUM ?? "/usr/bin/chromium";
const axeSource = await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const iUSD = (n: number): bigint => BigInt(Math.round(n * 1e6));

describe("owner console in Chromium", function () {
  this.timeout(180_000);
  let chain: DevChain;
  let deployment: Deployment;
  let server: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let wallet: TestWallet;
  let reader: MarketClient;
  let rpc: JsonRpcProvider;
  const [deployerKey, ownerKey, iconKey, yardKey, otherKey] = devKeys(5) as [string, string, string, string, string];
  const icon = new Wallet(iconKey);
  const metrics: Record<string, number> = {};

  before(async function () {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: run bash scripts/setup-system.sh (installs Debian's chromium)`);
    const build = await ensureConsoleBuilt();
    metrics.buildMs = Math.round(build.ms);
    chain = await startDevChain("127.0.0.1", 0);
    deployment = await deployMarket(chain.url, deployerKey);
    const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    rpc = provider;
    const deployer = await MarketClient.connect({ deployment, provider, signer: new Wallet(deployerKey) });
    await deployer.mint(new Wallet(ownerKey).address, iUSD(100));
    await deployer.mint(new Wallet(yardKey).address, iUSD(2000));
    reader = await MarketClient.connect({ deployment, provider });
    server = await startConsoleServer({ deployment, rpcUrl: chain.url });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    if (process.env.ICON_CONSOLE_DEBUG) page.on("console", (m) => console.log(`      [page] ${m.text()}`));
    // The wallet starts on Ethereum mainnet and does not know the dev chain: the page must ask to switch, then add.
    wallet = await injectTestWallet(page, { key: ownerKey, rpcUrl: chain.url, chainId: 1 });
    wallet.known.delete(31337);
    await page.addInitScript({
      content:
        "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));",
    });
    await mkdir(OUT, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await chain?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });

  /** axe-core over the page as it is: no serious or critical violation. */
  async function accessible(where: string): Promise<void> {
    await page.evaluate(axeSource);
    const found = (await page.evaluate(
      `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length })))`,
    )) as Array<{ id: string; impact: string; help: string; nodes: number }>;
    const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(bad, `axe at ${where}: ${JSON.stringify(bad)}`).to.deep.equal([]);
  }

  /** Continues the flow under review in the wallet and returns its outcome's sentence and whether it succeeded. */
  async function continueFlow(): Promise<{ ok: boolean; text: string }> {
    await page.click("#flow [data-action=confirm]");
    const outcome = page.locator("#flow .outcome.ok, #flow .outcome.fail");
    await outcome.waitFor({ timeout: 60_000 });
    const cls = (await outcome.getAttribute("class")) ?? "";
    return { ok: cls.includes("ok"), text: (await outcome.textContent()) ?? "" };
  }

  /** Closes the flow's panel once the page has read the chain again after it (its forms are then new). */
  async function closeFlow(): Promise<void> {
    await page.locator("body:not([data-busy]):not([data-loading])").waitFor();
    await page.click("#flow [data-action=cancel]");
    await page.locator("#flow").waitFor({ state: "hidden" });
  }

  /**
   * Opens a lease of the yard (`yard`, signed in with yardKey) for `account` (1 unless named), accepted by its ICON
   * (`tenant`, the account's controller: the root's ICON unless named): 100 units/s, 500 m CPU, 256 MiB, `seconds`
   * long from 10 s after the head, offer nonce `nonce`. Its offer and id.
   */
  async function openYardLease(
    yard: MarketClient,
    nonce: bigint,
    seconds: bigint,
    account = 1n,
    tenant: BaseWallet = icon,
  ): Promise<{ offer: Offer; leaseId: bigint }> {
    return openSignedLease({ yard, yardKey, tenant, deployment, rpc, account, nonce, startIn: 10n, seconds });
  }

  /** Shows application `root` afresh (the page reads the chain again). */
  async function showApp(root: bigint): Promise<void> {
    await page.click(`[data-app="${root}"]`);
    await page.locator("body:not([data-loading])").waitFor();
    await page.locator("#app-h", { hasText: `Application #${root}` }).waitFor();
  }

  /** The page loaded again, the wallet connected again, application `root` shown. */
  async function reloadShowing(root: bigint): Promise<void> {
    await page.reload();
    await page.locator("body[data-ready]").waitFor();
    await page.click("[data-wallet='org.icon-market.test-wallet']");
    await page.locator("#apps-h").waitFor();
    await showApp(root);
  }

  it("shows its first view, the deployment read and the wallet found by EIP-6963 (target 1.5 s; bound 5 s under load)", async () => {
    const t0 = performance.now();
    await page.goto(server.url);
    await page.locator("[data-wallet='org.icon-market.test-wallet']").waitFor();
    metrics.firstViewMs = Math.round(performance.now() - t0);
    metrics.firstViewPageMs = Number(await page.evaluate("document.body.dataset.ready"));
    expect(await page.textContent("#net"))
      .to.contain("ICON dev chain")
      .and.contain("iUSD (permit)");
    expect(await page.textContent("#wallet")).to.contain("Connect ICON Test Wallet");
    // The target is 1.5 s (issue 18); the bound is generous so that other suites' load on the machine does not fail
    // it. The figure is printed against the target and recorded in demo-out/console/metrics.json.
    console.log(
      `      first view interactive: ${metrics.firstViewMs} ms (target 1500 ms: ${metrics.firstViewMs <= 1500 ? "met" : "MISSED"})`,
    );
    expect(metrics.firstViewMs, "first view interactive (ms)").to.be.at.most(5000);
    await accessible("the first view");
  });

  it("on the wrong chain asks the wallet to switch (adding the chain on 4902); a refused switch says so", async () => {
    await page.click("[data-wallet='org.icon-market.test-wallet']");
    await page.locator("[data-action=switch-chain]").waitFor();
    expect(await page.textContent("#notice")).to.contain(
      "Your wallet is on chain 1; the market is on ICON dev chain (chain 31337)",
    );
    wallet.refuseOnce.add("wallet_switchEthereumChain");
    await page.click("[data-action=switch-chain]");
    await page.locator("#notice", { hasText: "You declined the switch" }).waitFor();
    expect(wallet.chainId).to.equal(1);
    await page.click("[data-action=switch-chain]");
    await page.locator("#apps-h").waitFor();
    expect(wallet.chainId).to.equal(31337);
    const switched = wallet.asked.filter((m) => m.startsWith("wallet_"));
    expect(switched).to.deep.equal([
      "wallet_switchEthereumChain",
      "wallet_switchEthereumChain",
      "wallet_addEthereumChain",
    ]);
    expect(await page.getAttribute("[data-connected]", "data-connected")).to.equal(wallet.address);
    await shot("connect");
    await accessible("connected");
  });

  it("creates an application with its policy and deposit through a permit, each request shown in words first", async () => {
    const before = await reader.balanceOf(wallet.address);
    await page.fill("form[data-form=create] input[name=controller]", icon.address);
    await page.fill("form[data-form=create] input[name=deposit]", "20");
    await page.click("form[data-form=create] summary");
    await page.fill("form[data-form=create] input[name=weight]", "0.7");
    await page.click("form[data-form=create] button[type=submit]");
    await page.locator("#flow .steps li").first().waitFor();
    const words = await page.locator("#flow .words").allTextContents();
    expect(words).to.have.length(2);
    expect(words[0]).to.contain("Sign a permit").and.contain(`take 20 iUSD from your wallet ${wallet.address}`);
    expect(words[1]).to.contain(`origin ICON acts with the key ${icon.address}`).and.contain("w 0.7");
    expect(wallet.asked).to.not.include("eth_signTypedData_v4"); // nothing asked before the owner continues
    await shot("create-app");
    await accessible("a flow under review");
    const r = await continueFlow();
    expect(r, `${r.text} ${wallet.failed.join("; ")}`).to.deep.include({ ok: true });
    expect(r.text).to.contain("application 1 created with 20 iUSD");
    expect(wallet.asked.filter((m) => m === "eth_signTypedData_v4" || m === "eth_sendTransaction")).to.deep.equal([
      "eth_signTypedData_v4",
      "eth_sendTransaction",
    ]);
    const app = await reader.app(1n);
    expect(app.owner).to.equal(wallet.address);
    expect(app.policy.weightBps).to.equal(7000);
    expect((await reader.account(1n)).balance).to.equal(iUSD(20));
    expect((await reader.account(1n)).controller).to.equal(icon.address);
    expect(await reader.balanceOf(wallet.address)).to.equal(before - iUSD(20));
    await closeFlow();
    await page.locator("[data-field=held]", { hasText: "20 iUSD" }).waitFor();
  });

  it("a request the wallet refuses (4001) reads as declined and changes nothing", async () => {
    const before = (await reader.account(1n)).balance;
    await page.fill("form[data-form=topup] input[name=amount]", "5");
    await page.click("form[data-form=topup] button[type=submit]");
    wallet.refuseOnce.add("eth_signTypedData_v4");
    const r = await continueFlow();
    expect(r.ok).to.equal(false);
    expect(r.text).to.contain("You declined signing the permit in your wallet: nothing was signed or sent for it.");
    expect(await page.locator("#flow .step-status").nth(1).textContent()).to.equal("Not asked.");
    expect((await reader.account(1n)).balance).to.equal(before);
    await closeFlow();
  });

  it("tops up an account", async () => {
    await page.fill("form[data-form=topup] input[name=amount]", "5");
    await page.click("form[data-form=topup] button[type=submit]");
    const r = await continueFlow();
    expect(r.text).to.contain("account 1 funded with 5 iUSD");
    expect((await reader.account(1n)).balance).to.equal(iUSD(25));
    await closeFlow();
  });

  it("answers an ICON's pending funding request", async () => {
    const iconClient = await MarketClient.connect({
      deployment,
      provider: reader.provider,
      signer: new Wallet(iconKey),
    });
    await iconClient.requestFunding(1n, iUSD(3));
    await showApp(1n);
    await page.locator("[data-answer='1']").waitFor();
    expect(await page.textContent(".requests")).to.contain("Account 1 asks for 3 iUSD");
    await page.click("[data-answer='1']");
    expect(await page.locator("#flow .words").last().textContent()).to.contain("the answer to its funding request");
    const r = await continueFlow();
    expect(r.text).to.contain("account 1 funded with 3 iUSD");
    expect((await reader.account(1n)).balance).to.equal(iUSD(28));
    await closeFlow();
    await page.locator(".empty", { hasText: "Every funding request was answered." }).waitFor();
  });

  it("lists the leases with their yard, price, time left and spend", async () => {
    const yard = await MarketClient.connect({ deployment, provider: reader.provider, signer: new Wallet(yardKey) });
    await yard.register(listing("ab".repeat(32)));
    await yard.stake(iUSD(1000));
    const { offer, leaseId } = await openYardLease(yard, 1n, 3600n);
    // The start lies 10 s ahead of the head (blocks mined meanwhile cannot pass it); the clock is then moved past it.
    await rpc.send("evm_increaseTime", [11]);
    await rpc.send("evm_mine", []);
    await yard.confirmStart(leaseId);
    await showApp(1n);
    const row = page.locator("table[data-table=leases] tbody tr", { hasText: `#${leaseId}` });
    await row.waitFor();
    const cells = await row.locator("td").allTextContents();
    expect(cells[1]).to.equal("edge-a.example");
    expect(cells[2]).to.equal("account 1");
    expect(cells[3]).to.equal("0.0001 iUSD/s");
    expect(cells[4]).to.match(/^(59 min \d+ s|1 h 00 min)$/);
    // The spend the page shows is the price × the seconds since the start at the head it read (no block is mined
    // between its read and this one).
    const head = BigInt((await reader.provider.getBlock("latest"))!.timestamp);
    expect(cells[5]).to.equal(reader.format(offer.pricePerSecond * (head - offer.start)));
    expect(cells[6]).to.equal("Running");
    expect(await page.textContent("[data-account='1'] .where")).to.match(
      /^runs at edge-a\.example \(lease #1, Running, 0\.0001 iUSD\/s\)$/,
    );
    // The money chart (Vega-Lite, its own chunk): drawn as SVG under the CSP, its lines labelled in the legend.
    await page.locator("#money-chart[data-ready] svg").waitFor();
    const chart = (await page.textContent("#money-chart")) ?? "";
    expect(chart).to.contain("put in (net)").and.contain("spent on leases").and.contain("amount (iUSD)");
    // Element screenshots: a full-page one ignores scrolling, so both would be the same picture.
    await page.locator(".tree").screenshot({ path: path.join(OUT, "live-tree.png") });
    await page.locator("table[data-table=leases]").screenshot({ path: path.join(OUT, "leases.png") });
    await accessible("the application with a lease");
  });

  it("survives the host's network changing while it loads and refreshes: reads failed with ERR_NETWORK_CHANGED are tried again, every view completes", async () => {
    // The host's addresses change every 60 ms (an address of 198.18.0.0/15 added to lo and removed: Chromium fails
    // every request in flight then, 127.0.0.1 too) while the page is loaded, connected and the application shown
    // again, round after round: at least 3 rounds, and on until the change has failed at least one of the page's
    // own reads (bounded to 25 rounds).
    const churn = new AddressChurn();
    const failed: Array<{ type: string; error: string; url: string }> = [];
    const onFailed = (r: Request): void => {
      failed.push({ type: r.resourceType(), error: r.failure()?.errorText ?? "", url: r.url() });
    };
    page.on("requestfailed", onFailed);
    const total = { retried: 0, recovered: 0, gaveUp: 0, rounds: 0, reloads: 0 };
    const addStats = async (): Promise<void> => {
      const s = (await page.evaluate("window.__consoleNet")) as typeof total;
      total.retried += s.retried;
      total.recovered += s.recovered;
      total.gaveUp += s.gaveUp;
    };
    /** The browser's own load of the page (document, script, style): no page code runs to retry it. */
    const ownLoad = (f: { type: string }): boolean => ["document", "script", "stylesheet"].includes(f.type);
    try {
      while (total.rounds < 3 || (total.retried === 0 && total.rounds < 25)) {
        total.rounds++;
        // Chromium's own load of the page (its document, script or style) failed by a change is not the page's to
        // retry: loaded again, as a user would, at most 3 times.
        for (let load = 1; ; load++) {
          const loadFailures = failed.filter(ownLoad).length;
          total.reloads++;
          const loaded = await page.goto(server.url, { waitUntil: "load" }).then(
            () => failed.filter(ownLoad).length === loadFailures,
            (e: Error) => {
              if (load >= 3) throw e;
              return false;
            },
          );
          if (loaded) break;
          expect(load, "the page's own load failed 3 times in a row").to.be.below(3);
        }
        await page.locator("body[data-ready]").waitFor();
        expect(await page.getAttribute("body", "data-ready")).to.not.equal("error");
        await page.click("[data-wallet='org.icon-market.test-wallet']");
        await page.locator("#apps-h").waitFor();
        for (let refresh = 0; refresh < 2; refresh++) {
          await showApp(1n);
          await page.locator("[data-account='1'] .where", { hasText: "runs at edge-a.example" }).waitFor();
          await page.locator("table[data-table=leases] tbody tr", { hasText: "#1" }).waitFor();
          await page.locator("#timeline[data-ready] li").first().waitFor();
          await page.locator("#money-chart[data-ready] svg").waitFor();
        }
        await addStats();
      }
    } finally {
      page.off("requestfailed", onFailed);
      await churn.stop();
    }
    expect(churn.error, "the address churn ran").to.equal(undefined);
    const reads = failed.filter((f) => !ownLoad(f) || f.url.includes("/assets/chart-"));
    const kinds = new Map<string, number>();
    for (const f of reads) {
      const k = f.url.startsWith(chain.url) ? "RPC" : new URL(f.url).pathname.replace(/-[\w-]+\.js$/, ".js");
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    console.log(
      `      network changes: ${churn.changes} in ${total.rounds} rounds (${total.reloads} loads); requests failed: ` +
        `${failed.length} (${[...new Set(failed.map((f) => f.error))].join(", ")}), of the page's reads ${reads.length} ` +
        `(${[...kinds].map(([k, n]) => `${k} ${n}`).join(", ")}); ` +
        `the page retried ${total.retried}, recovered ${total.recovered}, gave up ${total.gaveUp}`,
    );
    metrics.netChangeRounds = total.rounds;
    metrics.netChangeFailedReads = reads.length;
    metrics.netChangeRetried = total.retried;
    expect(reads.length, "the change failed some of the page's reads (the fault reached it)").to.be.above(0);
    expect(total.gaveUp, "no read given up").to.equal(0);
    // Every read the change failed was tried again (a retry per failed request, or more: a retry without request).
    const changed = reads.filter((f) => f.error === "net::ERR_NETWORK_CHANGED").length;
    expect(total.retried).to.be.at.least(changed);
    await accessible("after the network changed");

    // The chart's chunk, loaded once per page, is rarely in flight at a change: its failure is injected for certain
    // (a fault, named so: Playwright fails the chunk's first request as the network would). Chromium then fails
    // any import() of that URL without a request; the page imports it again under ?retry=1.
    const chunk = /\/assets\/chart-[\w-]+\.js/;
    const asked: string[] = [];
    const onRequest = (r: Request): void => {
      if (chunk.test(r.url())) asked.push(new URL(r.url()).search);
    };
    let chunkFailed = false;
    const chunkFailureFake = (route: Route): Promise<void> => {
      if (chunkFailed) return route.continue();
      chunkFailed = true;
      return route.abort("connectionreset");
    };
    page.on("request", onRequest);
    await page.route(chunk, chunkFailureFake);
    try {
      await reloadShowing(1n);
      await page.locator("#money-chart[data-ready] svg").waitFor();
    } finally {
      page.off("request", onRequest);
      await page.unroute(chunk, chunkFailureFake);
    }
    // One request failed, one under ?retry=1 (a second draw's import of the chunk fails at once too, without a
    // request, and takes the same way: so at least one recovered). A real change of the host's network beside (a
    // Docker network made by another program) may fail that one too: the next is ?retry=2, and so on.
    expect(asked.slice(0, 2)).to.deep.equal(["", "?retry=1"]);
    expect(asked.slice(1)).to.deep.equal(asked.slice(1).map((_, i) => `?retry=${i + 1}`));
    const after = (await page.evaluate("window.__consoleNet")) as { recovered: number; gaveUp: number };
    expect(after.gaveUp).to.equal(0);
    expect(after.recovered).to.be.at.least(1);

    // The chunk failing every try (a fault, named so: Playwright fails each of its requests): the chart says so; the
    // next refresh fetches it anew (a query not asked before: Chromium keeps each failed URL failed) and draws it;
    // a later refresh imports the URL that loaded, without a request and without a failed try.
    asked.length = 0;
    let failing = true;
    const chunkDownFake = (route: Route): Promise<void> =>
      failing ? route.abort("connectionreset") : route.continue();
    page.on("request", onRequest);
    await page.route(chunk, chunkDownFake);
    try {
      await reloadShowing(1n);
      await page.locator("#money-chart", { hasText: "tried again on the next refresh" }).waitFor();
      const gaveUp = (await page.evaluate("window.__consoleNet.gaveUp")) as number;
      expect(gaveUp, "the chunk's tries all failed").to.be.at.least(1);
      const triedDown = asked.length;
      expect(triedDown).to.be.at.least(4);
      failing = false;
      await showApp(1n);
      await page.locator("#money-chart[data-ready] svg").waitFor();
      await page.locator("body:not([data-loading])").waitFor();
      expect(asked.length, "the refresh fetched the chunk").to.be.above(triedDown);
      expect(new Set(asked).size, "every request of the chunk under a new URL").to.equal(asked.length);
      const net = (await page.evaluate("window.__consoleNet")) as { retried: number };
      const requested = asked.length;
      await page.evaluate("document.getElementById('money-chart').removeAttribute('data-ready')");
      await showApp(1n);
      await page.locator("#money-chart[data-ready] svg").waitFor();
      expect(asked.length, "the chunk that loaded is imported again without a request").to.equal(requested);
      expect((await page.evaluate("window.__consoleNet.retried")) as number).to.equal(net.retried);
    } finally {
      page.off("request", onRequest);
      await page.unroute(chunk, chunkDownFake);
    }
  });

  it("changes the policy (a new version on chain)", async () => {
    await page.fill("form[data-form=policy] input[name=weight]", "0.3");
    await page.fill("form[data-form=policy] input[name=migrate]", "0.25");
    await page.fill("form[data-form=policy] input[name=maxPrice]", "0.002");
    await page.click("form[data-form=policy] button[type=submit]");
    expect(await page.locator("#flow .words").textContent()).to.contain(
      "publish policy v2 of application 1: w 0.3, migrate ≥ 25.00 %",
    );
    const r = await continueFlow();
    expect(r.text).to.contain("application 1: policy v2 published: w 0.3");
    const app = await reader.app(1n);
    expect(app.version).to.equal(2);
    expect(app.policy).to.deep.include({ weightBps: 3000, migrateThresholdBps: 2500, maxPricePerSecond: iUSD(0.002) });
    await shot("policy-change");
    await closeFlow();
  });

  it("refuses typed input as the CLI does, before asking the wallet", async () => {
    const asked = wallet.asked.length;
    await page.fill("form[data-form=withdraw] input[name=amount]", "1.0000001");
    await page.click("form[data-form=withdraw] button[type=submit]");
    expect(await page.textContent("form[data-form=withdraw] .form-error")).to.equal(
      'amount "1.0000001" has 7 decimals but iUSD has only 6',
    );
    expect(await page.locator("#flow").isHidden()).to.equal(true);
    expect(wallet.asked.length).to.equal(asked);
  });

  it("a revert reads as the CLI's sentence and changes nothing", async () => {
    const held = (await reader.account(1n)).balance;
    await page.fill("form[data-form=withdraw] input[name=amount]", "1000");
    await page.click("form[data-form=withdraw] button[type=submit]");
    const r = await continueFlow();
    expect(r.ok).to.equal(false);
    expect(r.text).to.contain(
      `withdrawing 1000 iUSD from application 1 refused: budget account 1 holds ${reader.format(held)} but 1000 iUSD is needed`,
    );
    expect((await reader.account(1n)).balance).to.equal(held);
    await closeFlow();
  });

  it("winds the application down from a fresh read: keys taken back root first, leases ended or cancelled, accounts closed or emptied, the rest withdrawn", async () => {
    const before = await reader.balanceOf(wallet.address);
    const iconClient = await MarketClient.connect({ deployment, provider: rpc, signer: new Wallet(iconKey) });
    const yard = await MarketClient.connect({ deployment, provider: rpc, signer: new Wallet(yardKey) });
    const ownerClient = await MarketClient.connect({ deployment, provider: rpc, signer: new Wallet(ownerKey) });
    // Closed accounts still take money (contracts/LeaseEscrow.sol): the ICON's replica account `gone` closed after
    // opening a lease, which the owner then ended (its whole deposit, 0.06 iUSD, refunded to the closed account);
    // the replica `later` closed with its lease out, whose start the yard will miss (the wind-down cancels it: deposit
    // and the yard's penalty credited to the closed account).
    const goneIcon = Wallet.createRandom();
    const gone = await iconClient.createAccount(1n, goneIcon.address);
    await iconClient.allocate(1n, gone, iUSD(1));
    const { leaseId: goneLease } = await openYardLease(yard, 3n, 600n, gone, goneIcon);
    await iconClient.closeAccount(gone);
    expect(await ownerClient.terminate(goneLease)).to.equal(iUSD(0.06));
    expect(await reader.account(gone)).to.deep.include({ closed: true, balance: iUSD(0.06) });
    const laterIcon = Wallet.createRandom();
    const later = await iconClient.createAccount(1n, laterIcon.address);
    await iconClient.allocate(1n, later, iUSD(1));
    const { leaseId: laterLease } = await openYardLease(yard, 4n, 600n, later, laterIcon);
    await iconClient.closeAccount(later);
    expect(await reader.account(later)).to.deep.include({ closed: true, balance: 0n });
    await showApp(1n);
    // The closed account holding money has a panel with only the return form (the owner may hand its money up); the
    // empty closed one has none.
    const gonePanel = page.locator(`details[data-manage="${gone}"]`);
    expect(await gonePanel.locator("summary").textContent()).to.contain(`#${gone} under #1 · closed ·`);
    await gonePanel.locator("summary").click();
    expect(
      await gonePanel.locator("form").evaluateAll((fs) => fs.map((f) => f.getAttribute("data-form"))),
    ).to.deep.equal(["return"]);
    expect(await gonePanel.locator("[data-not-offered]").count()).to.equal(0);
    expect(await gonePanel.locator("[data-field=balance]").textContent()).to.equal("0.06 iUSD");
    expect(await page.locator(`details[data-manage="${later}"]`).count()).to.equal(0);
    // After the page read the application, its ICON opens a replica account with money and a lease whose start the
    // yard then misses: the page's view does not show them; the wind-down must (it reads the chain again).
    const replica = Wallet.createRandom();
    const child = await iconClient.createAccount(1n, replica.address);
    await iconClient.allocate(1n, child, iUSD(2));
    const { leaseId: missed } = await openYardLease(yard, 2n, 600n);
    await rpc.send("evm_increaseTime", [400]); // past the start window (300 s): the start is missed
    await rpc.send("evm_mine", []);
    expect((await reader.lease(missed)).state).to.equal("StartMissed");
    expect((await reader.lease(laterLease)).state).to.equal("StartMissed");
    await page.click("[data-action=wind-down]");
    await page.locator("#flow .words").nth(8).waitFor();
    const words = await page.locator("#flow .words").allTextContents();
    expect(words).to.have.length(9);
    expect(words[0]).to.contain(`make your address ${wallet.address} the controller of account 1 `);
    expect(words[1]).to.contain(`the controller of account ${child} instead of the ICON key ${replica.address}`);
    expect(words[2]).to.contain("end lease 1 at edge-a.example now");
    expect(words[3]).to.contain(`cancel lease ${laterLease} at edge-a.example, whose start the yard missed`);
    expect(words[4]).to.contain(`cancel lease ${missed} at edge-a.example, whose start the yard missed`);
    // Deepest first (all three sit under the root; the newest first): the open replica closed, each closed account
    // emptied to the root — `later` of what the cancellation above credits it, `gone` of its refund.
    expect(words[5]).to.contain(`close account ${child}; its balance goes up to account 1`);
    expect(words[6]).to.contain(`move everything the closed account ${later} then holds (now 0 iUSD, plus what`);
    expect(words[7]).to.contain(`move everything the closed account ${gone} then holds (now 0.06 iUSD, plus what`);
    expect(words[8]).to.contain("take everything the root account 1 then holds");
    const r = await continueFlow();
    expect(r, r.text).to.deep.include({ ok: true });
    for (const a of [gone, later]) expect(await reader.account(a)).to.deep.include({ closed: true, balance: 0n });
    expect((await reader.lease(laterLease)).state).to.equal("Cancelled");
    const lease = await reader.lease(1n);
    expect(["Ended", "Settled"]).to.include(lease.state);
    expect((await reader.lease(missed)).state).to.equal("Cancelled");
    expect((await reader.account(child)).closed).to.equal(true);
    expect((await reader.account(child)).balance).to.equal(0n);
    const root = await reader.account(1n);
    expect(root.balance).to.equal(0n);
    expect(root.controller).to.equal(wallet.address);
    // Everything put in (20 + 5 + 3) came back — every unit, the closed accounts' too — but what lease 1 ran for, plus
    // the yard's collateral penalties for the two missed starts (paid to the leases' accounts by cancelMissedStart).
    let penalty = 0n;
    for (const l of [missed, laterLease]) {
      const cancelled = await reader.market.queryFilter(reader.market.filters.LeaseCancelled!(l));
      const p = BigInt((cancelled[0] as unknown as { args: { penalty: bigint } }).args.penalty);
      expect(p > 0n).to.equal(true);
      penalty += p;
    }
    expect((await reader.balanceOf(wallet.address)) - before).to.equal(
      iUSD(28) - lease.pricePerSecond * (lease.stoppedAt - lease.start) + penalty,
    );
    const back = (await reader.balanceOf(wallet.address)) - before;
    expect(r.text).to.contain(`withdrew ${reader.format(back)} to ${wallet.address}`);

    await page.locator("body:not([data-busy])").waitFor();
    expect(await page.textContent("[data-account='1'] .where")).to.equal("no live lease");
    // The timeline, from the chain's events: the owner's actions and the lease's life, newest first.
    await page.locator("#timeline[data-ready]").waitFor();
    const events = (await page.locator("#timeline li").allTextContents()).map((t) => t.replace(/^\S+ block \d+ /, ""));
    expect(events[0]).to.match(/ withdrawn from the application to /);
    for (const e of [
      `application 1 created; its origin ICON acts with the key ${icon.address}`,
      "account 1 funded with 20 iUSD",
      "account 1 funded with 3 iUSD",
      "policy v2 published",
      "account 1 asked the owner for 3 iUSD",
      "lease #1 opened at edge-a.example for account 1: 0.0001 iUSD/s",
      `account 1 now controlled by ${wallet.address}`,
      "lease #1 ended early",
      `account ${child} closed`,
    ])
      expect(
        events.some((x) => x.startsWith(e)),
        `${e} in ${JSON.stringify(events)}`,
      ).to.equal(true);
    await shot("wind-down");
    await closeFlow();
    await accessible("after the wind-down");
    // Winding down again: nothing to take back, end or close, and the root holds nothing — no zero withdrawal is sent
    // (the market would refuse it with BudgetZeroValue).
    const sent = wallet.asked.filter((m) => m === "eth_sendTransaction").length;
    await page.click("[data-action=wind-down]");
    const again = await continueFlow();
    expect(again, again.text).to.deep.include({ ok: true });
    expect(again.text).to.contain("application 1 wound down: nothing was left to withdraw");
    expect(await page.locator("#flow .step-status").last().textContent()).to.equal(
      "Not sent: the root account holds nothing.",
    );
    expect(wallet.asked.filter((m) => m === "eth_sendTransaction").length).to.equal(sent);
    await closeFlow();
  });

  it("over a token without permit asks for an approval, then creates the application", async () => {
    const artifact = JSON.parse(
      await readFile(
        path.join(projectRoot, "artifacts/contracts/mocks/NoPermitTokenMock.sol/NoPermitTokenMock.json"),
        "utf8",
      ),
    ) as { abi: InterfaceAbi; bytecode: string };
    const deployer = new Wallet(deployerKey, rpc);
    const plain = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy();
    await plain.waitForDeployment();
    const token = await plain.getAddress();
    await (await plain.getFunction("mint")(new Wallet(ownerKey).address, iUSD(50))).wait();
    // icon deploy probes the token with 0.01 of it from the deployer (protocol/chain/token-probe.ts)
    await (await plain.getFunction("mint")(deployer.address, iUSD(1))).wait();
    const d2 = await deployMarket(chain.url, deployerKey, { token });
    const server2 = await startConsoleServer({ deployment: d2, rpcUrl: chain.url });
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const p = await other.newPage();
      p.setDefaultTimeout(20_000);
      const w2 = await injectTestWallet(p, { key: ownerKey, rpcUrl: chain.url, chainId: 31337 });
      await p.goto(server2.url);
      await p.locator("[data-wallet='org.icon-market.test-wallet']").waitFor();
      expect(await p.textContent("#net"))
        .to.contain("token PLAIN")
        .and.not.contain("(permit)");
      await p.click("[data-wallet='org.icon-market.test-wallet']");
      await p.locator("#apps-h").waitFor();
      await p.fill("form[data-form=create] input[name=controller]", icon.address);
      await p.fill("form[data-form=create] input[name=deposit]", "10");
      await p.click("form[data-form=create] button[type=submit]");
      await p.locator("#flow .words").nth(1).waitFor();
      const words = await p.locator("#flow .words").allTextContents();
      expect(words).to.have.length(2);
      expect(words[0]).to.contain(
        `Send a transaction to the token ${token}: approve the market contract ${d2.market} to take 10 PLAIN`,
      );
      expect(words[1]).to.contain("moving 10 PLAIN from your wallet into its root account");
      await p.click("#flow [data-action=confirm]");
      const outcome = p.locator("#flow .outcome.ok, #flow .outcome.fail");
      await outcome.waitFor({ timeout: 60_000 });
      expect(await outcome.textContent()).to.contain("application 1 created with 10 PLAIN");
      expect(w2.asked).to.not.include("eth_signTypedData_v4");
      expect(w2.asked.filter((m) => m === "eth_sendTransaction")).to.have.length(2);
      const market2 = await MarketClient.connect({ deployment: d2, provider: rpc });
      expect((await market2.account(1n)).balance).to.equal(iUSD(10));
      expect(await market2.appOwner(1n)).to.equal(w2.address);
      expect(await plain.getFunction("allowance")(w2.address, d2.market)).to.equal(0n);
    } finally {
      await other.close();
      await server2.close();
    }
  });

  it("finds a wallet that only sets window.ethereum (no EIP-6963) and connects through it", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const p = await other.newPage();
      const legacy = await injectTestWallet(p, { key: ownerKey, rpcUrl: chain.url, chainId: 31337, legacy: true });
      await p.goto(server.url);
      await p.click("[data-wallet='window.ethereum']");
      await p.locator("#apps-h").waitFor();
      expect(await p.getAttribute("[data-connected]", "data-connected")).to.equal(legacy.address);
      expect(await p.textContent("#wallet")).to.contain("Browser wallet");
      expect(legacy.asked).to.include("eth_requestAccounts");
    } finally {
      await other.close();
    }
  });

  it("serves every answer with its strict Content-Security-Policy (no unsafe- source)", async () => {
    const expected = consoleCsp(chain.url);
    expect(expected).to.not.contain("unsafe-");
    expect(expected)
      .to.contain("script-src 'self'")
      .and.contain(`connect-src 'self' ${new URL(chain.url).origin}`);
    const index = await fetch(server.url);
    const asset = (await index.text()).match(/src="\/(assets\/[^"]+\.js)"/)?.[1];
    expect(asset, "the page's entry script").to.be.a("string");
    for (const p of ["", "deployment.json", asset!, "no-such-file"]) {
      const res = await fetch(new URL(p, server.url));
      await res.arrayBuffer();
      expect(res.headers.get("content-security-policy"), `/${p}`).to.equal(expected);
    }
    // The page as Chromium got it: the same header on the document.
    const doc = await page.request.get(server.url);
    expect(doc.headers()["content-security-policy"]).to.equal(expected);
  });

  it("follows the wallet to another account (accountsChanged): the next request is the new account's", async () => {
    const first = wallet.address;
    await wallet.switchAccount(otherKey);
    await page.locator(`[data-connected="${wallet.address}"]`).waitFor();
    await page.locator('[data-app="1"]').waitFor({ state: "detached" }); // application 1 is the first account's
    await page.locator("body:not([data-busy]):not([data-loading])").waitFor();
    await page.fill("form[data-form=create] input[name=controller]", icon.address);
    await page.fill("form[data-form=create] input[name=deposit]", "0");
    await page.click("form[data-form=create] button[type=submit]");
    const r = await continueFlow();
    // A request from the old account would be refused by the wallet (4100), as a real wallet refuses it.
    expect(r, `${r.text} ${wallet.failed.join("; ")}`).to.deep.include({ ok: true });
    const root = BigInt(/application (\d+) created/.exec(r.text)![1]!);
    expect(await reader.appOwner(root)).to.equal(wallet.address);
    await closeFlow();
    await wallet.switchAccount(ownerKey);
    await page.locator(`[data-connected="${first}"]`).waitFor();
  });

  it("opens an account under a parent with a chosen controller, allocates to it and returns from it, refusing what the chain would", async () => {
    // A second application of the owner, its origin ICON on the ICON's key: the owner acts on its accounts as owner.
    const owner = await MarketClient.connect({ deployment, provider: rpc, signer: new Wallet(ownerKey) });
    const root = await owner.createApp(icon.address, (await reader.app(1n)).policy, iUSD(10));
    await showApp(1n); // the list is read again: the new application is in it
    await showApp(root);
    const panel = (id: bigint) => page.locator(`details[data-manage="${id}"]`);
    const wantSent = (): number => wallet.asked.filter((m) => m === "eth_sendTransaction").length;
    const tokens = await reader.balanceOf(wallet.address);

    // 1. A child account with a chosen controller: a bad address is refused with the CLI's sentence, unasked.
    const controller = getAddress("0x" + "5cab".repeat(10));
    const letter = [...controller].findIndex((c, i) => i > 1 && /[a-f]/i.test(c));
    const flip = controller[letter] === controller[letter]!.toLowerCase() ? "toUpperCase" : "toLowerCase";
    const badChecksum = controller.slice(0, letter) + controller[letter]![flip]() + controller.slice(letter + 1);
    await panel(root).locator("summary").click();
    const form = panel(root).locator("form[data-form=account]");
    const asked = wallet.asked.length;
    for (const bad of ["0x1234", badChecksum]) {
      await form.locator("input[name=controller]").fill(bad);
      await form.locator("button[type=submit]").click();
      expect(await form.locator(".form-error").textContent()).to.equal(
        `<controller> "${bad}" is not an address (0x followed by 40 hex digits)`,
      );
    }
    expect(await page.locator("#flow").isHidden()).to.equal(true);
    expect(wallet.asked.length).to.equal(asked);
    await form.locator("input[name=controller]").fill(controller.toLowerCase());
    await form.locator("button[type=submit]").click();
    expect(await page.locator("#flow .words").textContent()).to.contain(
      `open a new budget account under account ${root}, controlled by the key ${controller}`,
    );
    let r = await continueFlow();
    expect(r, r.text).to.deep.include({ ok: true });
    const child = BigInt(/account (\d+) created under (\d+)/.exec(r.text)![1]!);
    expect(r.text).to.contain(`account ${child} created under ${root}`);
    const made = await reader.account(child);
    expect(made.parent).to.equal(root);
    expect(made.controller).to.equal(controller);
    expect(made.balance).to.equal(0n);
    await closeFlow();

    // 2. Allocate from the root to the child: over the root's balance refused before the wallet, with the chain's
    // sentence; the wallet's "no" changes nothing; then 4 iUSD move down, exactly.
    const created = wantSent();
    await panel(child).locator("summary").click();
    const allocate = panel(child).locator("form[data-form=allocate]");
    expect(await allocate.locator("[data-field=parent-balance]").textContent()).to.equal("10 iUSD");
    await allocate.locator("input[name=amount]").fill("10.000001");
    await allocate.locator("button[type=submit]").click();
    expect(await allocate.locator(".form-error").textContent()).to.equal(
      `allocating 10.000001 iUSD from account ${root} to ${child} refused: budget account ${root} holds 10 iUSD but 10.000001 iUSD is needed`,
    );
    expect(await page.locator("#flow").isHidden()).to.equal(true);
    expect(wantSent()).to.equal(created); // nothing sent since the creation
    await allocate.locator("input[name=amount]").fill("4");
    await allocate.locator("button[type=submit]").click();
    expect(await page.locator("#flow .words").textContent()).to.contain(
      `move 4 iUSD from budget account ${root} down to its child account ${child}`,
    );
    wallet.refuseOnce.add("eth_sendTransaction");
    r = await continueFlow();
    expect(r.ok).to.equal(false);
    expect(r.text).to.contain(
      `You declined allocating 4 iUSD from account ${root} to ${child} in your wallet: nothing was signed or sent for it.`,
    );
    expect((await reader.account(root)).balance).to.equal(iUSD(10));
    expect((await reader.account(child)).balance).to.equal(0n);
    await closeFlow();
    await panel(child).locator("summary").click();
    await allocate.locator("input[name=amount]").fill("4");
    await allocate.locator("button[type=submit]").click();
    r = await continueFlow();
    expect(r, r.text).to.deep.include({ ok: true });
    expect(r.text).to.contain(`allocated 4 iUSD from ${root} to ${child}`);
    expect((await reader.account(root)).balance).to.equal(iUSD(6));
    expect((await reader.account(child)).balance).to.equal(iUSD(4));
    await closeFlow();

    // The chain refuses anyway when the balance the page read is gone: the root's ICON moves 5.5 iUSD down after
    // the page read 6; asking for 3 then reads as the CLI's sentence and moves nothing.
    await panel(child).locator("summary").click();
    expect(await allocate.locator("[data-field=parent-balance]").textContent()).to.equal("6 iUSD");
    const iconClient = await MarketClient.connect({ deployment, provider: rpc, signer: new Wallet(iconKey) });
    await iconClient.allocate(root, child, iUSD(5.5));
    const sent = wantSent();
    await allocate.locator("input[name=amount]").fill("3");
    await allocate.locator("button[type=submit]").click();
    r = await continueFlow();
    expect(r.ok).to.equal(false);
    expect(r.text).to.contain(
      `allocating 3 iUSD from account ${root} to ${child} refused: budget account ${root} holds 0.5 iUSD but 3 iUSD is needed`,
    );
    // The chain refused the request when the wallet estimated its gas (it runs the call): nothing was sent.
    expect(wallet.asked).to.include("eth_estimateGas");
    expect(wantSent()).to.equal(sent);
    expect((await reader.account(root)).balance).to.equal(iUSD(0.5));
    expect((await reader.account(child)).balance).to.equal(iUSD(9.5));
    await closeFlow();

    // 3. Return 2.25 iUSD from the child to its parent.
    await panel(child).locator("summary").click();
    const back = panel(child).locator("form[data-form=return]");
    expect(await back.locator("[data-field=balance]").textContent()).to.equal("9.5 iUSD");
    await back.locator("input[name=amount]").fill("2.25");
    await back.locator("button[type=submit]").click();
    expect(await page.locator("#flow .words").textContent()).to.contain(
      `move 2.25 iUSD from budget account ${child} back up to its parent account ${root}`,
    );
    r = await continueFlow();
    expect(r, r.text).to.deep.include({ ok: true });
    expect(r.text).to.contain(`returned 2.25 iUSD from ${child} to its parent`);
    expect((await reader.account(child)).balance).to.equal(iUSD(7.25));
    expect((await reader.account(root)).balance).to.equal(iUSD(2.75));
    // Money moved inside the application only: the owner's wallet paid nothing (gas is in ETH).
    expect(await reader.balanceOf(wallet.address)).to.equal(tokens);
    await closeFlow();
    await panel(root).locator("summary").click();
    await panel(child).locator("summary").click();
    await page.locator(".accounts").screenshot({ path: path.join(OUT, "accounts.png") });
    await accessible("the accounts' forms");
  });

  it("kept to its Content-Security-Policy (no violation) and reports its bundle size", async () => {
    expect(await page.evaluate("window.__csp")).to.deep.equal([]);
    // The first view loads index.html, the entry script and the CSS; the chart's chunk (Vega) comes on demand.
    const size = { bytes: 0, gzip: 0, firstBytes: 0, firstGzip: 0 };
    const files = ["index.html", ...(await readdir(path.join(CONSOLE_DIST, "assets"))).map((f) => `assets/${f}`)];
    for (const f of files) {
      const b = await readFile(path.join(CONSOLE_DIST, f));
      const z = gzipSync(b, { level: 9 }).length;
      size.bytes += b.length;
      size.gzip += z;
      if (!f.startsWith("assets/chart-")) {
        size.firstBytes += b.length;
        size.firstGzip += z;
      }
    }
    Object.assign(metrics, {
      bundleBytes: size.bytes,
      bundleGzipBytes: size.gzip,
      firstViewBytes: size.firstBytes,
      firstViewGzipBytes: size.firstGzip,
    });
    console.log(
      `      console: first view interactive ${metrics.firstViewMs} ms (page's own clock ${metrics.firstViewPageMs} ms); bundle ${size.bytes} bytes, ${size.gzip} gzip (first view ${size.firstBytes} bytes, ${size.firstGzip} gzip; the rest the chart's chunk); build ${metrics.buildMs} ms`,
    );
    await writeFile(path.join(OUT, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
    expect(size.firstGzip).to.be.below(300_000);
  });
});
