/**
 * Image collection (composed by leases.ts' tick): an image no active lease uses is removed once its grace period
 * (`lease.imageGraceS` after its last use) is over — only while the yard's own name is all it carries.
 */
import type { Logger } from "../protocol/log.ts";
import type { YardConfig } from "./config.ts";
import { ACTIVE, type YardDb } from "./db.ts";
import type { ContainerRuntime } from "./runtime.ts";

/** What collecting images uses of the lease lifecycle's components. */
export interface ImageCollectComponents {
  config: Pick<YardConfig, "lease">;
  db: Pick<YardDb, "leases" | "images" | "forgetImage">;
  runtime: Pick<ContainerRuntime, "removeImage">;
  log: Logger;
}

/** Removes the images whose grace period is over at chain time `now`. */
export async function collectImages(c: ImageCollectComponents, now: number): Promise<void> {
  const { db, runtime, log } = c;
  const inUse = new Set(
    db
      .leases(ACTIVE)
      .filter((l) => l.spec)
      .flatMap((l) => [l.spec!.imageDigest, ...(l.spec!.agent ? [l.spec!.agent.imageDigest] : [])])
      .map((digest) => `sha256:${digest.slice(2)}`),
  );
  for (const img of db.images()) {
    if (inUse.has(img.id) || img.lastUsed + c.config.lease.imageGraceS > now) continue;
    // Only while the yard's own name is all it carries: any other name was given by someone else, who keeps it.
    await runtime
      .removeImage(img.id, { ifUntagged: true })
      .catch((e) => log.warn("could not remove an image", { error: e }));
    db.forgetImage(img.id);
    log.info("image removed after its grace period", { image: img.id.slice(0, 19) });
  }
}
