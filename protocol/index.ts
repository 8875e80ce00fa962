/**
 * protocol/: what the yard, the agent and the CLI share — EIP-712 types, the chain boundary (MarketClient),
 * the deployment file, units and errors. Depends on nothing else in the repo.
 *
 * @example
 *   import { MarketClient, readDeployment } from "../protocol/index.ts";
 *   const client = await MarketClient.connect({ rpcUrl, deployment: await readDeployment(file), signer });
 *   console.log(client.format(await client.balanceOf(addr)));
 */
export * from "./errors.ts";
export * from "./json.ts";
export * from "./log.ts";
export * from "./last-resort.ts";
export * from "./units.ts";
export * from "./eip712.ts";
export * from "./chain/deployment.ts";
export * from "./chain/errors.ts";
export * from "./chain/client.ts";
export * from "./chain/logs.ts";
export type { RelayHook } from "./chain/transactions.ts";
export * from "./chain/intents.ts";
export * from "./chain/types.ts";
export * from "./chain/policy.ts";
export * from "./chain/receipt.ts";
export * from "./chain/fees.ts";
export * from "./chain/rpc.ts";
export * from "./lease/limits.ts";
export * from "./lease/messages.ts";
export * from "./lease/secret.ts";
export * from "./lease/negotiation.ts";
export * from "./lease/service.ts";
export * from "./lease/binding.ts";
export * from "./lease/proof.ts";
export * from "./lease/rtt.ts";
export * from "./lease/namespace.ts";
export * from "./lease/inactive.ts";
export * from "./net/node.ts";
export * from "./net/ready.ts";
export * from "./net/p2p-config.ts";
export * from "./net/gateway-transport.ts";
export * from "./discovery/dns.ts";
export * from "./yard/services.ts";
export * from "./yard/gateway.ts";
export * from "./yard/probe.ts";
export * from "./yard/ip.ts";
export * from "./yard/icon-status.ts";
export * from "./relay/relay.ts";
export * from "./relay/sender.ts";
export * from "./overlay/messages.ts";
export * from "./overlay/tree.ts";
export * from "./overlay/tree-aggregate.ts";
export * from "./overlay/tunnel-wire.ts";
export * from "./netinfo/alto.ts";
