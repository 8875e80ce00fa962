/**
 * `icon console`: the owner console — a web page where an application's owner does from a browser wallet what
 * `icon app …` / `icon budget …` do with a key file. Builds the page when its sources changed (Vite), serves it
 * with the deployment of this chain (scripts/lib/console-server.ts) and prints its URL.
 */
import { ConfigError } from "../../protocol/errors.ts";
import { deploymentOf, endpointForHumans, out, rpcClient, say, untilSignal } from "./context.ts";
import { command, opt, type Command } from "./options.ts";

/**
 * The chain URL the page gets when no --page-rpc is given: --rpc itself, but only when it carries nothing secret.
 * A hosted RPC's URL holds its API key in the path, the query or the userinfo: served to the page (and named in its
 * CSP) it would reach every visitor, so such a URL is refused with a sentence asking for an explicit --page-rpc.
 */
export function pageRpcDefault(rpc: string): string {
  let u: URL;
  try {
    u = new URL(rpc);
  } catch {
    return rpc; // refused below as not an http(s) URL
  }
  const parts = [
    u.username || u.password ? "credentials" : "",
    u.pathname !== "/" && u.pathname !== "" ? "a path" : "",
    u.search ? "a query" : "",
  ].filter(Boolean);
  if (parts.length > 0)
    throw new ConfigError(
      "BAD_OPTION",
      `the chain's RPC URL (${endpointForHumans(rpc)}) has ${parts.join(" and ")}, where hosted RPCs keep their API key; the console does not hand it to the page: pass --page-rpc <url>, the endpoint the browser may see (for example one without a key, or a local proxy)`,
    );
  return rpc;
}

export const consoleCommands: Record<string, Command> = {
  console: command({
    usage: "console [--port 4173] [--host 127.0.0.1] [--page-rpc <url>] [--yard-http <url>[,<url>…]]",
    summary:
      "serve the owner console (a web page for browser wallets: create, fund, steer and wind down applications, see their leases) on a local port and print its URL; the page reads the chain at --rpc (or --page-rpc, the URL as the browser reaches it) and acts on the deployment file of that chain",
    options: {
      port: opt.int("--port", 65535),
      host: opt.string(),
      "page-rpc": opt.string(),
      "yard-http": opt.string(),
    },
    async run(ctx, o) {
      // Checked before anything is read or served: a refused URL leaves nothing running. Without --page-rpc the
      // page gets the --rpc endpoint that answered, so every one of them must be fit for the page.
      const chosen = o["page-rpc"];
      const candidates = chosen !== undefined ? [chosen] : ctx.rpcUrls.map(pageRpcDefault);
      for (const u of candidates)
        if (!/^https?:\/\//.test(u))
          throw new ConfigError("BAD_OPTION", `--page-rpc must be an http(s) URL the browser can reach, got "${u}"`);
      const { ensureConsoleBuilt, startConsoleServer } = await import("../lib/console-server.ts");
      // The deployment as every chain command finds it (context.ts): through the failover client of every --rpc.
      const provider = await rpcClient(ctx);
      const { file, deployment, pageRpc } = await deploymentOf(ctx, provider)
        .then((d) => ({ ...d, pageRpc: chosen ?? provider.currentUrl }))
        .finally(() => provider.destroy());
      const b = await ensureConsoleBuilt();
      if (b.built) say(`built the console page in ${(b.ms / 1000).toFixed(1)} s (console/dist/)`);
      // The yards whose ICON status the page may show (their HTTP surfaces): named by the operator, not taken from
      // the chain's listings, so the console's server fetches from no address a stranger chose.
      const yardHttp = (o["yard-http"] ?? "").split(",").filter((u) => u !== "");
      for (const u of yardHttp)
        if (!/^https?:\/\/[^/?#@]+\/?$/.test(u))
          throw new ConfigError("BAD_OPTION", `--yard-http takes http(s)://host:port URLs, got "${u}"`);
      const server = await startConsoleServer({
        deployment,
        rpcUrl: pageRpc,
        host: o.host,
        port: o.port ?? 4173,
        yardHttp: yardHttp.map((u) => u.replace(/\/$/, "")),
      });
      say(`owner console for the market ${deployment.market} on chain ${deployment.chainId} (deployment ${file})`);
      say("open it in a browser with your wallet; Ctrl-C stops it");
      out(server.url);
      await untilSignal();
      await server.close();
    },
  }),
};
