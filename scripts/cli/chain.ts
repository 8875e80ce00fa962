/**
 * `icon chain`, `icon deploy` and `icon token …`: a development chain, the market's contracts on a chain, and the
 * token (balance; minting on the development token).
 */
import { addressArg, client, need, out, requireWallet, say, untilSignal } from "./context.ts";
import { command, opt, type Command } from "./options.ts";

export const chainCommands: Record<string, Command> = {
  chain: command({
    usage: "chain [--port 8545] [--host 127.0.0.1]",
    summary: "start an embedded development chain (Hardhat EDR) and serve JSON-RPC until Ctrl-C",
    options: { port: opt.int("--port", 65535), host: opt.string() },
    async run(_ctx, o) {
      const { startDevChain } = await import("../lib/hardhat.ts");
      const chain = await startDevChain(o.host ?? "127.0.0.1", o.port ?? 8545);
      say(`dev chain (chain id 31337) serving JSON-RPC at ${chain.url}`);
      say(
        'its funded accounts use Hardhat\'s public development mnemonic ("test test … junk"); never use those keys elsewhere',
      );
      say("use them with --dev-account <n> (only accepted on chain 31337), e.g. `icon deploy --dev-account 0`");
      await untilSignal();
      await chain.close();
    },
  }),
  deploy: command({
    usage:
      "deploy [--network <name>] [--token <address>] [--confirmations <n>] [--min-stake <amount>] [--unbonding <seconds>] [--start-window <seconds>] [--collateral <0..1>] [--arbiter <address>] [--arbiter-delay <seconds>]",
    summary:
      "deploy registry, market and access manager with Hardhat Ignition (and a test token unless --token, which is probed first: a token with a fee on transfer or that rebases is refused); writes the deployment file",
    options: {
      token: opt.address("--token"),
      confirmations: opt.int("--confirmations", 64),
      "min-stake": opt.matching(/^\d+$/, (v) => `--min-stake is in token units (an integer), got "${v}"`),
      unbonding: opt.int("--unbonding"),
      "start-window": opt.int("--start-window"),
      collateral: opt.share("--collateral"),
      arbiter: opt.address("--arbiter"),
      "arbiter-delay": opt.int("--arbiter-delay"),
    },
    async run(ctx, o) {
      const deployer = await requireWallet(ctx);
      const big = (v: number | undefined): bigint | undefined => (v !== undefined ? BigInt(v) : undefined);
      const { deployMarket } = await import("../lib/hardhat.ts");
      const d = await deployMarket(
        ctx.network ? { network: ctx.network } : ctx.rpc,
        deployer.privateKey,
        {
          token: o.token,
          arbiter: o.arbiter,
          minStake: o["min-stake"] !== undefined ? BigInt(o["min-stake"]) : undefined,
          unbondingPeriod: big(o.unbonding),
          startWindow: big(o["start-window"]),
          collateralBps: big(o.collateral),
          arbiterDelay: big(o["arbiter-delay"]),
        },
        say,
        { confirmations: o.confirmations },
      );
      const { defaultDeploymentPath, writeDeployment } = await import("../../protocol/chain/deployment.ts");
      const file = ctx.deploymentFile ?? defaultDeploymentPath(d.chainId);
      await writeDeployment(file, d);
      say(
        `deployed on chain ${d.chainId} in block ${d.blockNumber}: token ${d.token}, registry ${d.registry}, market ${d.market}, access manager ${d.accessManager}`,
      );
      say(`wrote ${file}`);
      out(JSON.stringify(d));
    },
  }),
  "token balance": command({
    usage: "token balance [<address>]",
    summary: "show a token balance (default: your key's address)",
    async run(ctx) {
      const c = await client(ctx, false);
      const who = ctx.args[0] ? await addressArg(ctx.args[0], "<address>") : await c.address();
      out(`${who}: ${c.format(await c.balanceOf(who))}`);
    },
  }),
  "token mint": command({
    usage: "token mint <to> <amount>",
    summary: "development token only: mint tokens (the key must own the TestToken)",
    async run(ctx) {
      const c = await client(ctx, true);
      const to = await addressArg(need(ctx, 0, "to", this.usage), "<to>");
      const amount = c.parse(need(ctx, 1, "amount", this.usage));
      await c.mint(to, amount);
      out(`minted ${c.format(amount)} to ${to}`);
    },
  }),
};
