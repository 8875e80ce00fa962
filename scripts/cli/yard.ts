/**
 * `icon yard start|status` and `icon netinfo serve`: run a yard (after the set-up it needs: the Docker engine and
 * the local images, scripts/setup.sh), read a running yard's /status, and serve ALTO network information.
 */
import { ConfigError, IconError } from "../../protocol/errors.ts";
import type { YardStatus } from "../../yard-node/index.ts";
import { endpointForHumans, out, requireWallet, say, untilSignal } from "./context.ts";
import { command, opt, type Command } from "./options.ts";
import { setUp } from "./setup.ts";

export const yardCommands: Record<string, Command> = {
  "yard start": command({
    usage: "yard start --config <file> [--keystore <file> | --dev-account <n>]",
    summary:
      "run a yard: list it on chain, answer lease negotiations, run leased containers in Docker; Ctrl-C (SIGINT) or SIGTERM stops it gracefully and leaves containers running for the next start to reconcile",
    options: {
      config: opt.required("--config <file> is required; see yard-node/README.md for an example"),
      "log-level": opt.oneOf(
        ["debug", "info", "warn", "error"] as const,
        (v) => `--log-level must be debug, info, warn or error, got "${v}"`,
      ),
    },
    async run(ctx, o) {
      const file = o.config;
      const { Yard, loadYardConfigFile, parseYardConfig } = await import("../../yard-node/index.ts");
      const { createLogger } = await import("../../protocol/log.ts");
      const config = parseYardConfig(await loadYardConfigFile(file), file);
      [ctx.rpc, ctx.rpcUrls] = [config.chain.rpcUrl, config.chain.rpcUrls];
      const log = createLogger({ level: o["log-level"] ?? "info", base: { yard: config.yardId } });
      const { installLastResort } = await import("../../protocol/index.ts");
      installLastResort({ log, what: `yard ${config.yardId}` });
      const wallet = await requireWallet(ctx);
      // What a yard needs of the machine (the Docker engine, the local images) is set up now, not by every `icon`.
      await setUp("yard");
      say(
        `starting yard ${config.yardId} (chain ${endpointForHumans(config.chain.rpcUrl)}, data in ${config.dataDir}) …`,
      );
      const yard = await Yard.start({ config, wallet, log });
      const st = yard.status();
      out(`yard ${st.yardId} ready: operator ${st.operator}, peer ${st.peerId}`);
      out(`  listening on ${st.multiaddrs.join(", ")}`);
      out(`  status and metrics at ${st.http}/status and ${st.http}/metrics`);
      out(`  DNS records to publish (zone file lines):`);
      for (const line of st.zone) out(`    ${line}`);
      await untilSignal();
      say(`stopping yard ${config.yardId} (containers keep running; the next start reconciles them) …`);
      await yard.stop();
    },
  }),
  "yard status": command({
    usage: "yard status (--config <file> | --url <http://host:port>) [--json]",
    summary: "show a running yard's leases, capacity, chain and Docker state (from its HTTP /status)",
    options: { config: opt.string(), url: opt.string(), json: opt.flag() },
    refine(o, fail) {
      if (!o.url && !o.config)
        fail("pass --config <file> (the yard's config) or --url <http://host:port>", "MISSING_OPTION");
    },
    async run(_ctx, o) {
      let url = o.url;
      if (!url) {
        const file = o.config!;
        const { loadYardConfigFile, parseYardConfig } = await import("../../yard-node/index.ts");
        const c = parseYardConfig(await loadYardConfigFile(file), file);
        if (c.http.port === 0)
          throw new ConfigError("BAD_CONFIG", `${file}: http.port is 0 (random); pass --url instead`);
        url = `http://${c.http.host}:${c.http.port}`;
      }
      let res: Response;
      try {
        res = await fetch(`${url.replace(/\/$/, "")}/status`, { signal: AbortSignal.timeout(5000) });
      } catch {
        throw new IconError(
          "YARD_UNREACHABLE",
          `no yard answers at ${url}: is it running (\`icon yard start --config …\`)?`,
        );
      }
      const st = (await res.json()) as YardStatus;
      if (o.json) {
        out(JSON.stringify(st, null, 2));
        return;
      }
      const { formatAmount } = await import("../../protocol/units.ts");
      const fmt = (units: string): string => formatAmount(BigInt(units), st.token);
      out(`yard ${st.yardId}  operator ${st.operator}`);
      out(`  peer ${st.peerId}`);
      out(
        `  chain ${st.chain.up ? "up" : "UNREACHABLE"} (id ${st.chain.chainId}, events to block ${st.chain.cursor})  docker ${st.docker.up ? "up" : "UNREACHABLE"}`,
      );
      out(
        `  capacity ${st.capacity.usedCpuMillis}/${st.capacity.cpuMillis} mCPU, ${st.capacity.usedMemoryMiB}/${st.capacity.memoryMiB} MiB used (${st.capacity.holds} quote holds)`,
      );
      out(
        `  leases: ${st.counts.active} active, ${st.counts.failed} failed, ${st.counts.ended} awaiting final claim, ${st.counts.settled} settled`,
      );
      const { formatEther } = await import("ethers");
      const gas = st.gasSpentWei ? `, gas spent ${formatEther(BigInt(st.gasSpentWei.total))} ETH` : "";
      out(
        `  quotes/s (last minute) ${st.quotesPerSecond.toFixed(2)}, earnings claimed ${fmt(st.earningsClaimed)}${gas}`,
      );
      for (const l of st.leases) {
        const left = Math.max(0, l.end - Math.floor(Date.now() / 1000));
        out(
          `  lease ${l.id}: ${l.status}${l.running ? " (running)" : ""} ${l.cpuMillis} mCPU ${l.memoryMiB} MiB, ${fmt(l.pricePerSecond)}/s, ${left} s left${l.endpoint ? `, at ${l.endpoint}` : ""}${l.restarts ? `, ${l.restarts} restarts` : ""}${l.note ? ` — ${l.note}` : ""}`,
        );
      }
    },
  }),
  "netinfo serve": command({
    usage: "netinfo serve --map <file.json> [--host 127.0.0.1] [--port 8181]",
    summary:
      'serve network information in the ALTO format (RFC 7285): the file holds {"networkMap": …, "costMap": …}; GET / lists the resources, /networkmap and /costmap serve them; Ctrl-C stops',
    options: {
      map: opt.required("--map <file.json> is required"),
      host: opt.string(),
      port: opt.int("--port", 65535),
    },
    async run(_ctx, o) {
      const { readFile } = await import("node:fs/promises");
      let raw: { networkMap?: unknown; costMap?: unknown };
      try {
        raw = JSON.parse(await readFile(o.map, "utf8")) as typeof raw;
      } catch (e) {
        throw new ConfigError("BAD_ALTO_MAP", `cannot read ${o.map} as JSON: ${(e as Error).message}`);
      }
      const { AltoMap, serveAlto } = await import("../../protocol/index.ts");
      const map = new AltoMap(raw.networkMap as never, raw.costMap as never);
      const server = await serveAlto(map, o.host ?? "127.0.0.1", o.port ?? 8181);
      say(`ALTO network information at ${server.url}/ (network map /networkmap, cost map /costmap)`);
      await untilSignal();
      await server.close();
    },
  }),
};
