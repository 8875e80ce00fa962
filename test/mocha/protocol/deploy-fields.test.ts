/** Deploy's overlay fields (service, httpPorts, allow): round trip and refusals. */
import { expect } from "chai";
import { ProtocolError, decodeFrame, encodeFrame, type DeploySpec } from "../../../protocol/index.ts";

const id = "0x" + "01".repeat(16);
const base: DeploySpec = {
  leaseId: 7n,
  imageRef: "icon/web:1",
  imageDigest: "0x" + "ab".repeat(32),
  command: [],
  env: [],
  ports: [8080, 9000],
};
const roundTrip = (spec: DeploySpec): DeploySpec => {
  const m = decodeFrame(encodeFrame(id, { type: "deploy", spec })).message;
  if (m.type !== "deploy") throw new Error(m.type);
  return m.spec;
};
const refused = (spec: DeploySpec, re: RegExp): void => {
  expect(() => roundTrip(spec)).to.throw(ProtocolError, re);
};

describe("Deploy overlay fields", () => {
  it("round-trip a service name, HTTP ports and allow patterns exactly", () => {
    const spec = {
      ...base,
      service: "shop.prod.cart.default",
      httpPorts: [8080],
      allow: ["shop.*.*.*", "ops.prod.mon.x"],
    };
    expect(roundTrip(spec)).to.deep.equal(spec);
  });
  it("leave them out when empty (older peers see the same message)", () => {
    expect(roundTrip(base)).to.deep.equal(base);
  });
  it("refuse a service that is not four lower-case DNS labels", () => {
    for (const s of ["shop.prod.cart", "Shop.prod.cart.x", "a.b.c.d.e", "a..c.d", "a.b.c.-d", "a.b.c.*"])
      refused({ ...base, service: s }, /service must be app\.appns\.service\.servicens/);
  });
  it("refuse an HTTP port that is not exposed", () => {
    refused({ ...base, httpPorts: [8081] }, /8081 is not one of the exposed ports/);
  });
  it("refuse an allow pattern that is not four labels or *", () => {
    for (const a of ["*", "shop.*", "shop.prod.cart.**", "shop prod.a.b.c"])
      refused({ ...base, allow: [a] }, /allow\[0\] must be four labels/);
  });
});
