/**
 * yard-node/: an IEP's daemon — listing, quoting, the lease lifecycle in Docker, the overlay proxy, metrics. This
 * file is its public surface: code outside yard-node/ imports only from here (ESLint enforces it; tests may reach
 * inside). Rooms and who may import whom: ARCHITECTURE.md.
 *
 * @example
 *   import { Yard, loadYardConfigFile, parseYardConfig } from "../yard-node/index.ts";
 *   const yard = await Yard.start({ config: parseYardConfig(await loadYardConfigFile(file), file), wallet });
 */
export { Yard, loadYardConfigFile, type YardOptions } from "./yard.ts";
export type { YardStatus } from "./http.ts";
export { parseYardConfig, yardConfigSchema, type YardConfig, type YardConfigInput } from "./config.ts";
export { CONTAINER_USER, DockerRuntime, leaseHostConfig } from "./docker.ts";
export { AGENT_SECRET_DIR } from "./runtime.ts";
export { HostFirewall } from "./firewall.ts";
export { Ingress, type IngressRoute } from "./ingress.ts";
export { TunnelManager, type TunnelTarget } from "./overlay/tunnel.ts";
