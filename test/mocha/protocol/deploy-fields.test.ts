/**
 * Deploy's optional fields: the overlay's (service, httpPorts, allow) and the agent part (round trip, refusals, a
 * secret that never turns into text or reaches the yard's database).
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import {
  LeaseSecret,
  ProtocolError,
  decodeFrame,
  encodeFrame,
  leaseLimits,
  toJson,
  withoutSecret,
  type AgentPart,
  type DeploySpec,
  type Offer,
} from "../../../protocol/index.ts";
import { YardDb } from "../../../yard-node/db.ts";
import { shareProblem } from "../../../yard-node/sidecar.ts";

const id = "0x" + "01".repeat(16);
const base: DeploySpec = {
  leaseId: 7n,
  imageRef: "icon/web:1",
  imageDigest: "0x" + "ab".repeat(32),
  command: [],
  env: [],
  ports: [8080, 9000],
};
const decode = (f: Uint8Array): DeploySpec => {
  const m = decodeFrame(f).message;
  if (m.type !== "deploy") throw new Error(m.type);
  return m.spec;
};
const roundTrip = (spec: DeploySpec): DeploySpec => decode(encodeFrame(id, { type: "deploy", spec }));
const agent = (secret: Uint8Array, over: Partial<AgentPart> = {}): AgentPart => ({
  imageRef: "icon/agent:1",
  imageDigest: "0x" + "cd".repeat(32),
  command: ["node", "agent.js"],
  cpuMillis: 100,
  memoryMiB: 64,
  secret: LeaseSecret.of(secret),
  ...over,
});
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

describe("Deploy agent part", () => {
  it("round-trips the sidecar and its secret's bytes exactly", () => {
    const secret = randomBytes(4096);
    const got = roundTrip({ ...base, agent: agent(secret) });
    expect(got.agent).to.include({ imageRef: "icon/agent:1", cpuMillis: 100, memoryMiB: 64 });
    expect(got.agent!.command).to.deep.equal(["node", "agent.js"]);
    expect(got.agent!.secret).to.be.instanceOf(LeaseSecret);
    expect(Buffer.from(got.agent!.secret.bytes())).to.deep.equal(secret);
    expect(roundTrip(base)).to.not.have.property("agent");
  });

  it("carries `once` (a hand-over sent again) only when set, and the stored spec never keeps it", () => {
    expect(roundTrip({ ...base, agent: agent(randomBytes(8), { once: true }) }).agent!.once).to.equal(true);
    expect(roundTrip({ ...base, agent: agent(randomBytes(8)) }).agent).to.not.have.property("once");
    expect(withoutSecret({ ...base, agent: agent(randomBytes(8), { once: true }) }).agent).to.not.have.property("once");
  });

  it("zeroes the secret's bytes in the received frame once it is copied out", () => {
    const secret = Buffer.from("k".repeat(64));
    const frame = encodeFrame(id, { type: "deploy", spec: { ...base, agent: agent(secret) } });
    expect(Buffer.from(frame).includes(secret)).to.equal(true);
    const got = decode(frame);
    expect(Buffer.from(frame).includes(secret)).to.equal(false);
    expect(Buffer.from(got.agent!.secret.bytes())).to.deep.equal(secret);
  });

  it("refuses an empty or oversize secret and a zero share", () => {
    const bad = (spec: DeploySpec, re: RegExp) => expect(() => roundTrip(spec)).to.throw(ProtocolError, re);
    bad({ ...base, agent: agent(new Uint8Array()) }, /agent\.secret must be 1\.\.65536 bytes, got 0/);
    bad(
      { ...base, agent: agent(new Uint8Array(leaseLimits.maxSecretBytes + 1)) },
      /agent\.secret must be 1\.\.65536 bytes, got 65537/,
    );
    bad({ ...base, agent: agent(randomBytes(8), { cpuMillis: 0 }) }, /agent\.cpuMillis/);
    bad({ ...base, agent: agent(randomBytes(8), { memoryMiB: 0 }) }, /agent\.memoryMiB/);
    bad({ ...base, agent: agent(randomBytes(8), { imageDigest: "0x12" }) }, /agent\.imageDigest must be 32 bytes/);
  });

  it("fits the largest legitimate Deploy (full lists and the largest secret) in one frame", () => {
    const many = Array.from({ length: leaseLimits.maxListEntries }, (_, i) => `${i}`.padEnd(500, "x"));
    const spec: DeploySpec = {
      ...base,
      command: many,
      env: many,
      agent: agent(randomBytes(leaseLimits.maxSecretBytes), { command: many.slice(0, 32) }),
    };
    expect(roundTrip(spec).agent!.secret.length).to.equal(leaseLimits.maxSecretBytes);
  });

  it("never shows the secret as text: JSON, toJson, util.inspect and String give its length only", () => {
    const s = LeaseSecret.of(Buffer.from("top-secret-bytes"));
    const spec = { ...base, agent: agent(Buffer.from("top-secret-bytes")) };
    for (const text of [JSON.stringify(spec.agent), toJson(spec), inspect(spec, { depth: 9 }), String(s), `${s}`])
      expect(text).to.not.include("top-secret").and.to.not.include("746f702d");
    expect(String(s)).to.equal("[secret: 16 bytes]");
    s.wipe();
    expect(s.wiped).to.equal(true);
    expect([...s.bytes()].every((b) => b === 0)).to.equal(true);
  });

  it("is left out of what a yard stores, even when the whole Deploy is passed to the database", async () => {
    const spec = { ...base, agent: agent(Buffer.from("top-secret-bytes")) };
    expect(withoutSecret(spec).agent).to.not.have.property("secret");
    const db = new YardDb(path.join(await mkdtemp(path.join(tmpdir(), "icon-db-")), "yard.db"));
    const offer = { start: 1n, end: 2n, cpuMillis: 1, memoryMiB: 1 } as unknown as Offer;
    db.addLease(7n, offer, "0x" + "ee".repeat(32), undefined);
    db.update(7n, { spec });
    expect(db.lease(7n)!.spec!.agent).to.deep.equal(withoutSecret(spec).agent);
    db.close();
  });

  it("gives the service the lease less the agent's share, and refuses a share that leaves it too little", () => {
    const offer = { cpuMillis: 250, memoryMiB: 64 } as Offer;
    expect(shareProblem({ cpuMillis: 50, memoryMiB: 16 }, offer)).to.equal(undefined);
    expect(shareProblem({ cpuMillis: 245, memoryMiB: 16 }, offer)).to.match(/leaves the service 5 mCPU and 48 MiB/);
    expect(shareProblem({ cpuMillis: 50, memoryMiB: 60 }, offer)).to.match(/leaves the service 200 mCPU and 4 MiB/);
    expect(shareProblem({ cpuMillis: 5, memoryMiB: 16 }, offer)).to.match(/below what a container needs/);
  });
});
