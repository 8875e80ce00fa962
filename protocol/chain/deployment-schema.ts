/**
 * The deployment file's shape (zod), without file access: the CLI, the yard and the agent read it with
 * deployment.ts; the owner console (console/, in a browser) checks the copy `icon console` serves with it.
 */
import { z } from "zod";

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
