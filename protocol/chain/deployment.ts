/**
 * The deployment file: where the market's contracts live on one chain. Written by `icon deploy`, read by
 * the CLI, the yard and the agent.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.ts";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address");

export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  token: address,
  registry: address,
  market: address,
  accessManager: address,
  deployedAt: z.string(),
  /**
   * The block the market's contracts were created in: every log read starts here (logs.ts), never at 0. Files
   * written before it was recorded lack it: then 0, with a warning when read.
   */
  blockNumber: z
    .number({ message: "must be the block number the market was deployed in (a whole number ≥ 0)" })
    .int({ message: "must be a whole block number" })
    .nonnegative({ message: "must be a block number ≥ 0" })
    .default(0),
});

/** Addresses of one market deployment. */
export type Deployment = z.infer<typeof deploymentSchema>;

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
