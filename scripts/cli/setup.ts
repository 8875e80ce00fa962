/**
 * The machine set-up a command needs beyond what every `icon` call gets (scripts/icon sources the light set-up:
 * Node, dependencies, .build/): `setUp("yard")` runs `bash scripts/setup.sh yard` (system packages, the Docker engine,
 * the local images), its one line per step on stderr, and fails with a sentence if a step failed.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { IconError } from "../../protocol/errors.ts";

export async function setUp(mode: "yard"): Promise<void> {
  // Two levels above scripts/cli/, three above the built copy in .build/scripts/cli/ (scripts/build-js.ts).
  const here = import.meta.dirname;
  const root = path.resolve(here, path.basename(path.resolve(here, "../..")) === ".build" ? "../../.." : "../..");
  const script = path.join(root, "scripts/setup.sh");
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("bash", [script, mode], { stdio: ["ignore", 2, 2] });
    child.once("error", reject);
    child.once("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  if (code !== 0)
    throw new IconError(
      "SETUP_FAILED",
      `the ${mode} set-up (bash scripts/setup.sh ${mode}) failed; its failed step and log are named above`,
    );
}
