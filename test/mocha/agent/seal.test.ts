/**
 * An ICON's sealed state (icon-agent/state.ts): what travels to its sidecar as the lease's agent secret comes back
 * byte for byte (the libp2p key is binary), every file 0600 in a 0700 directory; anything else is refused with
 * nothing written.
 */
import { expect } from "chai";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { isIconError } from "../../../protocol/index.ts";
import { SEALED_STATE_MAX_BYTES, sealAgentState, unsealAgentState } from "../../../icon-agent/state.ts";

describe("sealed agent state (what a sidecar is handed)", () => {
  let from: string;
  let to: string;
  beforeEach(async () => {
    from = await mkdtemp(path.join(tmpdir(), "icon-seal-from-"));
    to = path.join(await mkdtemp(path.join(tmpdir(), "icon-seal-to-")), "run-icon");
    await writeFile(path.join(from, "agent.json"), '{"env":{},"seed":{"account":"n:7"}}');
    await writeFile(path.join(from, "key"), "0x" + "ab".repeat(32) + "\n", { mode: 0o600 });
    await writeFile(path.join(from, "peer.key"), Buffer.from(Array.from({ length: 68 }, (_, i) => (i * 37) & 0xff)));
    await writeFile(path.join(from, "status.json"), "{}");
  });
  afterEach(async () => {
    await rm(from, { recursive: true, force: true });
    await rm(path.dirname(to), { recursive: true, force: true });
  });

  it("carries agent.json, key and the binary peer key byte for byte, 0600 in a 0700 directory; nothing else", async () => {
    await unsealAgentState(await sealAgentState(from), to);
    expect((await readdir(to)).sort()).to.deep.equal(["agent.json", "key", "peer.key"]);
    for (const f of ["agent.json", "key", "peer.key"]) {
      expect(await readFile(path.join(to, f))).to.deep.equal(await readFile(path.join(from, f)));
      expect((await stat(path.join(to, f))).mode & 0o777).to.equal(0o600);
    }
    expect((await stat(to)).mode & 0o777).to.equal(0o700);
  });

  it("refuses, writing nothing, another version, a file outside the list, a missing key, not base64, too large", async () => {
    const sealed = JSON.parse((await sealAgentState(from)).toString()) as { v: number; files: Record<string, string> };
    const cases: [unknown, RegExp][] = [
      [{ ...sealed, v: 2 }, /is not version 1/],
      [{ ...sealed, files: { ...sealed.files, "../x": "eA==" } }, /names a file it may not/],
      [{ ...sealed, files: { ...sealed.files, "status.json": "e30=" } }, /names a file it may not/],
      [{ v: 1, files: { "agent.json": sealed.files["agent.json"] } }, /lacks agent.json or key/],
      [{ ...sealed, files: { ...sealed.files, key: "not base64!" } }, /key not in base64/],
    ];
    for (const [blob, words] of cases) {
      const err = await unsealAgentState(Buffer.from(JSON.stringify(blob)), to).catch((e: unknown) => e);
      expect(isIconError(err, "BAD_SEALED_STATE"), String(err)).to.equal(true);
      expect((err as Error).message).to.match(words);
      expect(await readdir(to).catch(() => [])).to.deep.equal([]);
    }
    const big = Buffer.alloc(SEALED_STATE_MAX_BYTES + 1, 0x20);
    expect(isIconError(await unsealAgentState(big, to).catch((e: unknown) => e), "BAD_SEALED_STATE")).to.equal(true);
    expect(
      isIconError(await unsealAgentState(Buffer.from("{"), to).catch((e: unknown) => e), "BAD_SEALED_STATE"),
    ).to.equal(true);
  });
});
