/**
 * The agent gateway tests' probe (test/mocha/yard/agent-gateway.test.ts): the program of a test sidecar, bundled
 * by esbuild into an image made from icon/agent:1. It listens on the agent's libp2p port (AGENT_P2P_PORT), which the
 * yard exposes through its ingress, and runs each JavaScript program POSTed to it as the body of an async function
 * of `lib` (the gateway's URL from ICON_GATEWAY, Node's net, libp2p and the protocol's helpers); it answers
 * `{"ok":true,"value":…}` or `{"ok":false,"error":"…"}` (bigints as decimal strings). So a test acts from inside
 * a sidecar, on the container network, with the sidecar's address, as an agent would. Its standard input (the
 * lease's secret) is read and dropped.
 */
import http from "node:http";
import net from "node:net";
import { Wallet } from "ethers";
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { createIconNode } from "../../protocol/net/node.ts";
import { readTelemetry } from "../../protocol/overlay/messages.ts";
import { signLeaseAccess } from "../../protocol/yard/services.ts";
import { AGENT_GATEWAY_ENV, AGENT_P2P_PORT, parseGatewayDial, parseGatewaySelf } from "../../protocol/yard/gateway.ts";

const lib = {
  gateway: process.env[AGENT_GATEWAY_ENV],
  env: Object.keys(process.env),
  net,
  Wallet,
  multiaddr,
  peerIdFromString,
  createIconNode,
  readTelemetry,
  signLeaseAccess,
  parseGatewayDial,
  parseGatewaySelf,
};

type Program = (l: typeof lib) => Promise<unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (arg: string, body: string) => Program;

process.stdin.on("data", () => {});
process.stdin.on("error", () => {});

http
  .createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      void (async () => {
        let answer: unknown;
        try {
          answer = { ok: true, value: await new AsyncFunction("lib", Buffer.concat(parts).toString("utf8"))(lib) };
        } catch (e) {
          answer = { ok: false, error: String((e as Error)?.stack ?? e) };
        }
        res.end(JSON.stringify(answer, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
      })();
    });
  })
  .listen(AGENT_P2P_PORT, "0.0.0.0");
