/**
 * The agent gateway's answer parsers (protocol/yard/gateway.ts): an agent takes the yard's answers as untrusted
 * input, so each parser accepts exactly the documented shape and refuses anything else with BAD_GATEWAY_ANSWER;
 * the yard's parser of a /dial body says why a body is refused.
 */
import { expect } from "chai";
import { isIconError } from "../../../protocol/errors.ts";
import { parseGatewayDial, parseGatewayDialRequest, parseGatewaySelf } from "../../../protocol/yard/gateway.ts";

const PEER = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf";
const SELF = {
  leaseId: "42",
  yard: { peerId: PEER, addrs: ["/ip4/127.0.0.1/tcp/4001"] },
  agentAddrs: ["/ip4/203.0.113.7/tcp/40123"],
  rpc: "/rpc",
  alto: null,
  dns: "172.18.0.1:53",
};

function refused(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(isIconError(e, "BAD_GATEWAY_ANSWER"), String(e)).to.equal(true);
    return (e as Error).message;
  }
  expect.fail("expected a refusal");
}

describe("agent gateway answers (protocol/yard/gateway.ts)", () => {
  it("parses /self and /dial as documented", () => {
    expect(parseGatewaySelf(SELF)).to.deep.equal({ ...SELF, leaseId: 42n });
    expect(parseGatewaySelf({ ...SELF, alto: "/alto", dns: null }).alto).to.equal("/alto");
    expect(parseGatewayDial({ addr: "/ip4/172.18.0.1/tcp/39999" })).to.deep.equal({
      addr: "/ip4/172.18.0.1/tcp/39999",
    });
  });

  it("refuses answers of another shape: unknown fields, bad ids, addresses, paths, ports", () => {
    expect(refused(() => parseGatewaySelf([]))).to.match(/not a JSON object/);
    expect(refused(() => parseGatewaySelf({ ...SELF, extra: 1 }))).to.match(/unknown field\(s\) extra/);
    expect(refused(() => parseGatewaySelf({ ...SELF, leaseId: 42 }))).to.match(/leaseId/);
    expect(refused(() => parseGatewaySelf({ ...SELF, yard: { ...SELF.yard, peerId: "x" } }))).to.match(/peerId/);
    expect(refused(() => parseGatewaySelf({ ...SELF, agentAddrs: ["/ip4/1.2.3.4/udp/5"] }))).to.match(/agentAddrs/);
    expect(refused(() => parseGatewaySelf({ ...SELF, agentAddrs: Array(17).fill("/ip4/1.2.3.4/tcp/5") }))).to.match(
      /at most 16/,
    );
    expect(refused(() => parseGatewaySelf({ ...SELF, rpc: "http://evil/rpc" }))).to.match(/rpc/);
    expect(refused(() => parseGatewaySelf({ ...SELF, dns: "172.18.0.1:70000" }))).to.match(/dns/);
    expect(refused(() => parseGatewayDial({ addr: "/ip4/172.18.0.1/tcp/0" }))).to.match(/addr/);
    expect(refused(() => parseGatewayDial({ addr: "/dns4/evil/tcp/1" }))).to.match(/addr/);
    expect(refused(() => parseGatewayDial({ addr: "/ip4/1.2.3.4/tcp/1", more: 1 }))).to.match(/unknown/);
  });

  it("says why a /dial body is refused", () => {
    expect(parseGatewayDialRequest({ peer: PEER, addrs: ["/ip4/1.2.3.4/tcp/5"] })).to.deep.equal({
      peer: PEER,
      addrs: ["/ip4/1.2.3.4/tcp/5"],
    });
    expect(parseGatewayDialRequest("x")).to.match(/JSON object/);
    expect(parseGatewayDialRequest({ peer: "nope", addrs: ["/ip4/1.2.3.4/tcp/5"] })).to.match(/peer id/);
    expect(parseGatewayDialRequest({ peer: PEER, addrs: [] })).to.match(/1\.\.16 TCP multiaddrs/);
    expect(parseGatewayDialRequest({ peer: PEER, addrs: ["/ip4/1.2.3.4/tcp/5"], x: 1 })).to.match(/unknown field/);
    // A name is never dialed: the forward would splice to the name's text, not to where it led.
    for (const a of ["/dns4/yard.example/tcp/4001", "/dns6/yard.example/tcp/4001", "/dns/yard.example/tcp/4001"])
      expect(parseGatewayDialRequest({ peer: PEER, addrs: [a] }), a).to.match(/no dns names/);
    expect(parseGatewayDialRequest({ peer: PEER, addrs: ["/ip6/::1/tcp/5"] })).to.deep.equal({
      peer: PEER,
      addrs: ["/ip6/::1/tcp/5"],
    });
    const other = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK";
    expect(parseGatewayDialRequest({ peer: PEER, addrs: [`/ip4/1.2.3.4/tcp/5/p2p/${other}`] })).to.match(
      /names another peer/,
    );
  });
});
