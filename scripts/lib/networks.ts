/**
 * Named networks for `icon deploy --network <name>` and the other commands' `--network`: each is declared by an
 * environment variable ICON_RPC_URL_<NAME> holding its JSON-RPC URL (or, for a URL kept in Hardhat's keystore,
 * named in ICON_NETWORKS), read by hardhat.config.ts. Names are lower case with dashes (`base-sepolia` ↔
 * ICON_RPC_URL_BASE_SEPOLIA). No heavy import: hardhat.config.ts and the CLI's start load this.
 */

const PREFIX = "ICON_RPC_URL_";

/** The environment variable that holds network `name`'s RPC URL. */
export function rpcUrlVariable(name: string): string {
  return PREFIX + name.toUpperCase().replace(/-/g, "_");
}

/** The environment variable that may hold network `name`'s Hardhat chain type (l1, op or generic). */
export function chainTypeVariable(name: string): string {
  return "ICON_CHAIN_TYPE_" + name.toUpperCase().replace(/-/g, "_");
}

/** Whether `name` can be a network name (letters, digits, dashes; not the reserved ones). */
export function isNetworkName(name: string): boolean {
  return /^[a-z][a-z0-9-]{0,39}$/.test(name) && !["default", "target", "hardhat", "localhost"].includes(name);
}

/** The networks `env` declares: one per ICON_RPC_URL_<NAME>, and those ICON_NETWORKS lists (comma-separated). */
export function declaredNetworks(env: NodeJS.ProcessEnv = process.env): string[] {
  const names = new Set<string>();
  for (const key of Object.keys(env)) {
    if (key.startsWith(PREFIX) && key.length > PREFIX.length && env[key])
      names.add(key.slice(PREFIX.length).toLowerCase().replace(/_/g, "-"));
  }
  for (const n of (env.ICON_NETWORKS ?? "").split(",")) if (n.trim()) names.add(n.trim().toLowerCase());
  return [...names].filter(isNetworkName).sort();
}

/** The chain type of network `name` for Hardhat (default generic). */
export function chainTypeOf(name: string, env: NodeJS.ProcessEnv = process.env): "l1" | "op" | "generic" {
  const t = env[chainTypeVariable(name)];
  return t === "l1" || t === "op" ? t : "generic";
}
