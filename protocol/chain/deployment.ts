/**
 * The deployment file: where the market's contracts live on one chain. Written by `icon deploy`, read by
 * the CLI, the yard and the agent.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { ConfigError } from "../errors.ts";
import { deploymentSchema, type Deployment } from "./deployment-schema.ts";

export { deploymentSchema, type Deployment } from "./deployment-schema.ts";

/** Default location of the deployment file for `chainId` (relative to the working directory). */
export function defaultDeploymentPath(chainId: number | bigint): string {
  return path.join("deployments", `chain-${chainId}.json`);
}

const warnedNoBlock = new Set<string>();

/** Reads and validates a deployment file; errors name the file and the fix. */
export async function readDeployment(file: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ConfigError(
      "NO_DEPLOYMENT",
      `no deployment file at ${file}: run \`icon deploy\` first or pass --deployment <file>`,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError("BAD_DEPLOYMENT", `${file} is not valid JSON`, { cause });
  }
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError("BAD_DEPLOYMENT", `${file}: field "${issue.path.join(".")}" ${issue.message}`);
  }
  if ((json as { blockNumber?: unknown }).blockNumber === undefined && !warnedNoBlock.has(file)) {
    warnedNoBlock.add(file);
    process.emitWarning(
      `${file} records no blockNumber (written by an older \`icon deploy\`): chain logs are read from block 0; add the block the market was deployed in`,
      { code: "ICON_DEPLOYMENT_NO_BLOCK" },
    );
  }
  return parsed.data;
}

/** Writes a deployment file, creating its folder. */
export async function writeDeployment(file: string, d: Deployment): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(d, null, 2) + "\n");
}
