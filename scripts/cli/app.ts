/**
 * `icon app …`: an application as its owner sees it — deploy it (fund a budget, publish its policy, give the origin
 * ICON a key (it holds no ETH: yards relay its calls), start it and wait until it is placed), watch it, steer it with a new policy.
 * For an owner whose money is in a browser wallet: `app key` makes the origin's key (no key of the owner's needed), the
 * owner creates the application for it in the owner console, and `app deploy --app <root>` starts it.
 */
import { ConfigError } from "../../protocol/errors.ts";
import type { MarketClient } from "../../protocol/chain/client.ts";
import type { AgentEnv, DeployedApp } from "../../icon-agent/index.ts";
import { client, idArg, need, out, type Ctx } from "./context.ts";
import { POLICY_OPTIONS, describePolicy, policyFromOptions, publishPolicy } from "./budget.ts";
import { startAgentProcess, waitHandedOver, waitPlaced } from "./agent.ts";
import { command, opt, type Command } from "./options.ts";

export const appCommands: Record<string, Command> = {
  "app deploy": command({
    usage:
      "app deploy --config <app.json> --state <dir> --deposit <amount> [--local] [--no-start] [--wait <s>] [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>] [--max-relay-fee <amount>] [--relay-allowance-per-day <amount>]  |  app deploy --state <dir> --app <root> [--no-start] [--wait <s>]",
    summary:
      "create and fund an application budget, publish its policy, give the origin ICON a key of its own (in <dir>, mode 0600; it holds no ETH: yards relay its calls, repaid from its account within the policy's relay caps), and start it (`icon agent run --state <dir> --hand-over` in the background, log in <dir>/agent.log): it places the origin, then hands it into its lease's agent sidecar (the app config's `sidecar`: image icon/agent:1, its digest from the local Docker engine, 100 mCPU / 160 MiB on top of the service) and ends; the command waits for both (--wait, default 120 s each) and exits: nothing of yours needs to run then. <dir> stays as your copy, marked handed over. --local: the origin's agent keeps running here, and so do its replicas' (no sidecars); --no-start leaves the start to you. --app <root>: an application the owner created from a browser wallet (icon console) for the key icon app key made in <dir>: checked on chain (its root, open, its controller that key), nothing sent, then started as above",
    options: {
      config: opt.string(),
      state: opt.string(),
      deposit: opt.string(),
      "no-start": opt.flag(),
      local: opt.flag(),
      app: opt.string(),
      wait: opt.matching(
        /^\d{1,5}$/,
        (v) => `--wait is whole seconds to wait for the origin's placement, like 120; got "${v}"`,
      ),
      ...POLICY_OPTIONS,
    },
    refine(o, fail) {
      if (o.app !== undefined) {
        if (!o.state) fail("--app <root> needs --state <dir>, the directory icon app key prepared", "MISSING_OPTION");
        if (o.config || o.deposit || o.local)
          fail(
            "--app <root> starts the origin prepared by icon app key for an application created elsewhere (the owner console): --config, --deposit and --local belong to icon app key and the console",
            "BAD_OPTION",
          );
        const policy = Object.keys(POLICY_OPTIONS).filter((k) => o[k as keyof typeof POLICY_OPTIONS] !== undefined);
        if (policy.length > 0)
          fail(
            `--app <root> publishes no policy (the console did, with the application): ${policy.map((k) => `--${k}`).join(", ")} belong to the console's Policy form or to icon app policy <root>`,
            "BAD_OPTION",
          );
      } else if (!o.config || !o.state)
        fail("--config <app.json> and --state <dir> are required; see icon-agent/README.md", "MISSING_OPTION");
    },
    async run(ctx, o) {
      const dir = o.state!;
      const waitS = Number(o.wait ?? "120");
      if (o.app !== undefined) {
        // The owner created and funded the application from a browser wallet (icon console) for the key icon app key
        // made: bind the origin to it (checked on chain, nothing sent) and start it as below.
        const root = idArg(o.app, "--app");
        const c = await client(ctx, false);
        const { adoptApp, readAgentState } = await import("../../icon-agent/index.ts");
        const r = await adoptApp(c, dir, root);
        out(`origin ICON ${r.icon} (state in ${dir}) bound to application ${r.root}, whose controller it is`);
        const { env } = await readAgentState(dir);
        return startOrigin(dir, !env.sidecar, o["no-start"] === true, waitS, r);
      }
      const local = o.local === true;
      await refuseHeld(dir);
      const c = await client(ctx, true);
      const env = await appEnv(ctx, c, o.config!, dir, local);
      const { deployApp } = await import("../../icon-agent/index.ts");
      if (!o.deposit) throw new ConfigError("MISSING_OPTION", "--deposit <amount> is required (tokens, e.g. 20)");
      const deposit = c.parse(o.deposit, "--deposit");
      const r = await deployApp({ owner: c, env, policy: policyFromOptions(o, c), deposit, dir });
      out(`application ${r.root} created with ${c.format(deposit)}; origin ICON ${r.icon} (state in ${dir})`);
      await startOrigin(dir, local, o["no-start"] === true, waitS, r);
    },
  }),
  "app key": command({
    usage: "app key --config <app.json> --state <dir> [--local]",
    summary:
      "for an application you create from a browser wallet (icon console): make the origin ICON's key and state in <dir> (mode 0600; nothing is sent, no key of yours is needed) and print its address — give it as the application's controller in the console, then start the origin with icon app deploy --state <dir> --app <root>. --local: its agent will run here, not in its lease's sidecar",
    options: { config: opt.string(), state: opt.string(), local: opt.flag() },
    refine(o, fail) {
      if (!o.config || !o.state)
        fail("--config <app.json> and --state <dir> are required; see icon-agent/README.md", "MISSING_OPTION");
    },
    async run(ctx, o) {
      const dir = o.state!;
      // A directory that holds an ICON keeps its key: that key may control a funded application.
      await refuseHeld(dir);
      const env = await appEnv(ctx, await client(ctx, false), o.config!, dir, o.local === true);
      const { prepareOrigin } = await import("../../icon-agent/index.ts");
      const icon = await prepareOrigin(env, dir);
      out(`origin ICON key ${icon} (state in ${dir}, key mode 0600)`);
      out(
        `create the application with controller ${icon} (icon console: "Create an application"), then start its origin: icon app deploy --state ${dir} --app <root>`,
      );
    },
  }),
  "app status": command({
    usage: "app status <root> [--state <dir>]",
    summary:
      "the application's tree of accounts, live leases, spend and (with the origin's --state) the latency per client subnet its ICONs observe",
    options: { state: opt.string() },
    async run(ctx, o) {
      const root = idArg(need(ctx, 0, "root", "app status <root>"), "root");
      const c = await client(ctx, false);
      const { appStatus, formatStatus } = await import("../../icon-agent/index.ts");
      for (const line of formatStatus(c, await appStatus(c, root))) out(line);
      if (o.state) {
        const { readAgentStatus } = await import("../../icon-agent/index.ts");
        for (const s of await readAgentStatus(o.state)) {
          out(
            `ICON ${s.name} (account ${s.account}) at ${s.placement?.yard.name ?? "nowhere"}${s.last ? `; last decision ${s.last}` : ""}`,
          );
          for (const x of s.aggregate)
            out(
              `    ${x.subnet.padEnd(18)} ${x.rate.toFixed(2).padStart(8)} req/s  ${Number.isFinite(x.latencyMs) ? x.latencyMs.toFixed(1) : "-"} ms`,
            );
        }
      }
    },
  }),
  "app policy": command({
    usage:
      "app policy <root> [--weight 0..1] [--migrate-threshold 0..1] [--replicate-threshold 0..1] [--terminate-threshold 0..1] [--max-price <amount/s>] [--max-relay-fee <amount>] [--relay-allowance-per-day <amount>]",
    summary: "publish new weights and thresholds on chain (owner only); running ICONs pick them up through the tree",
    options: { ...POLICY_OPTIONS },
    async run(ctx, o) {
      const root = idArg(need(ctx, 0, "root", "app policy <root>"), "root");
      const c = await client(ctx, true);
      const { policy, version } = await publishPolicy(c, root, o);
      out(`application ${root}: policy v${version} published: ${describePolicy(policy, c)}`);
    },
  }),
};

/**
 * The agent image's digest for sidecar placement: the app config's `sidecar.imageDigest`, else the id of the image
 * it names (default icon/agent:1) in the local Docker engine (ICON_DOCKER_SOCKET, else /var/run/docker.sock).
 */
async function agentImageDigest(raw: unknown): Promise<string | undefined> {
  const { sidecarConfigOf } = await import("../../icon-agent/index.ts");
  const c = sidecarConfigOf(raw);
  if (!c || c.imageDigest) return c?.imageDigest;
  const { default: Docker } = await import("dockerode");
  const socketPath = process.env.ICON_DOCKER_SOCKET ?? "/var/run/docker.sock";
  try {
    const info = await new Docker({ socketPath }).getImage(c.image).inspect();
    return "0x" + info.Id.replace(/^sha256:/, "");
  } catch (e) {
    throw new ConfigError(
      "BAD_APP_CONFIG",
      `the agent image ${c.image} is not in the Docker engine at ${socketPath} (${(e as Error).message}): build it with bash scripts/images.sh, give sidecar.imageDigest in the app config, or deploy with --local`,
    );
  }
}

/**
 * The origin's AgentEnv from the app config `file` for the chain `c` reads (the agent image's digest from the local
 * engine unless `local`); refused when the file is not JSON.
 */
async function appEnv(ctx: Ctx, c: MarketClient, file: string, dir: string, local: boolean): Promise<AgentEnv> {
  const { readFile } = await import("node:fs/promises");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new ConfigError("BAD_APP_CONFIG", `cannot read ${file} as JSON: ${(e as Error).message}`);
  }
  const { agentEnvFrom } = await import("../../icon-agent/index.ts");
  return agentEnvFrom(raw, ctx.rpcUrls, c.deployment, {
    local,
    ...(local ? {} : { agentImageDigest: await agentImageDigest(raw) }),
  });
}

/** Refuses a state directory that already holds an ICON (before any key or chain is asked for). */
async function refuseHeld(dir: string): Promise<void> {
  const { access } = await import("node:fs/promises");
  const path = await import("node:path");
  if (
    await access(path.join(dir, "agent.json")).then(
      () => true,
      () => false,
    )
  )
    throw new ConfigError("STATE_EXISTS", `${dir} already holds an ICON; pick another --state directory`);
}

/**
 * Says what the application's origin is named as, then starts it (`icon agent run --state <dir>`, with --hand-over
 * unless `local`) in the background and waits for its placement (and hand-over) up to `waitS` s each; `noStart`
 * only says how to start it.
 */
async function startOrigin(
  dir: string,
  local: boolean,
  noStart: boolean,
  waitS: number,
  r: DeployedApp,
): Promise<void> {
  out(
    `its namespace label is ${r.namespace}: its services are named <app>.${r.namespace}.<service>.<servicens>` +
      (r.service ? `; this one deploys as ${r.service}` : "") +
      ` (yards refuse any other namespace; other apps' allow rules name it as <app>.${r.namespace}.*.*)`,
  );
  if (noStart) {
    out(`start it with: icon agent run --state ${dir}${local ? "" : " --hand-over"}`);
    return;
  }
  const { pid, log } = await startAgentProcess(dir, "origin", local ? [] : ["--hand-over"]);
  out(
    local
      ? `origin ICON started (pid ${pid}, log ${log}); stop it with kill ${pid}, resume it with icon agent run --state ${dir}`
      : `origin ICON started here for its first placement (pid ${pid}, log ${log}); it then moves into its lease`,
  );
  if (waitS === 0) return;
  if (local) {
    const placed = await waitPlaced(dir, pid, waitS);
    out(`origin ICON placed at ${placed.yard} (lease ${placed.lease}); clients reach it at ${placed.endpoint}`);
    return;
  }
  // Placed, then handed over, then its process ends (it may do all three before its first status is written).
  const h = await waitHandedOver(dir, pid, 2 * waitS);
  out(`origin ICON placed at ${h.yard} (lease ${h.leaseId}); clients reach it at ${h.endpoint}`);
  out(
    `origin ICON runs in the agent sidecar of lease ${h.leaseId} at ${h.yard} (instance ${h.instance}); clients reach it at ${h.endpoint}`,
  );
  out(
    `nothing of yours needs to run now; ${dir} is your copy, marked handed over (icon agent run --state ${dir} --take-back runs it here again)`,
  );
}
