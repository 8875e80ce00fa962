/**
 * Where an ICON's yard sends each client subnet (pure): to the replica that serves it. A replica serves the subnets
 * its parent handed it and those it reports busy; in sidecar placement a replica that does not report — booting
 * its agent after its hand-over, restarting, or lost with its yard until its parent places it again — keeps its
 * subnets redirected to where it was for `holdMs`, instead of its parent taking them back as load of its own (and
 * deciding on them: another replica for the same clients).
 *
 * The grace (issue 16 item 6): a replica that starts serving at a new endpoint — placed again after its yard was
 * lost, or moved — cannot report the clients of its subnets before they were sent there, and they are sent there
 * only by these redirects. So the subnets it served are kept redirected to its new endpoint whatever it reports
 * until `graceMs` after its first report from there (its agent is up; a report at rate 0 from a new instance says
 * only that its clients have not come yet); after the grace its reports decide again.
 *
 * @example
 *   const held = new Map<bigint, HeldRedirect>();
 *   const redirects = planRedirects({ extra, reported: tree.children(), recorded: seed.children,
 *     idleRate: env.idleRate, held, nowMs: Date.now(), holdMs: 60_000, graceMs: 10_000 });
 */
import type { Redirect } from "../protocol/index.ts";

/** A replica's redirect as last known, kept while it is silent. */
export interface HeldRedirect {
  endpoint: string;
  subnets: Set<string>;
  untilMs: number;
  /** Subnets redirected to `endpoint` whatever the replica reports, until `graceUntilMs` (a new endpoint's grace). */
  graced?: Set<string>;
  graceUntilMs?: number;
  /** No report from `endpoint` yet: the grace runs from the first one. */
  awaiting?: boolean;
}

/** What {@link planRedirects} works from. */
export interface RedirectInputs {
  /** Replicas just placed (or placed again): their new endpoints, ahead of any report. */
  extra: ReadonlyMap<bigint, string>;
  /** The live children of the tree, as they last reported. */
  reported: ReadonlyArray<{
    account: bigint;
    endpoint?: string;
    subnets: ReadonlyArray<{ subnet: string; rate: number }>;
  }>;
  /** The ICON's replicas as its state records them (the subnets each was handed; `started` once it runs). */
  recorded: Readonly<Record<string, { subnets: string[]; started?: boolean }>>;
  /** A reported subnet above this rate is the replica's. */
  idleRate: number;
  /** Sidecar placement: the held redirects (updated in place); absent, a silent replica's redirects go at once. */
  held?: Map<bigint, HeldRedirect>;
  nowMs: number;
  holdMs: number;
  /** How long a replica's subnets stay redirected to a new endpoint of its whatever it reports (0: no grace). */
  graceMs?: number;
}

/** The redirects for the ICON's yard, sorted by subnet (and `held` brought up to date). */
export function planRedirects(o: RedirectInputs): Redirect[] {
  const live = new Map<bigint, Omit<HeldRedirect, "untilMs">>();
  const graceMs = o.graceMs ?? 0;
  type Grace = Pick<HeldRedirect, "graced" | "graceUntilMs" | "awaiting">;
  /** A replica at a new endpoint: the subnets it served (held) and was handed, in a grace from its first report. */
  const moved = (account: bigint, also: Iterable<string> = []): Grace => {
    const graced = new Set([...(o.held?.get(account)?.subnets ?? []), ...also]);
    return graceMs > 0 && graced.size > 0 ? { graced, graceUntilMs: o.nowMs + graceMs, awaiting: true } : {};
  };
  // A replica placed again keeps the subnets it was held for (it serves the same clients from its new place).
  for (const [account, endpoint] of o.extra)
    live.set(account, {
      endpoint,
      subnets: new Set(o.held?.get(account)?.subnets),
      ...moved(account, o.recorded[String(account)]?.subnets),
    });
  for (const c of o.reported) {
    if (!c.endpoint) continue;
    const prev = live.get(c.account);
    const subnets = new Set(prev?.subnets);
    for (const s of c.subnets) if (s.rate > o.idleRate) subnets.add(s.subnet);
    const endpoint = prev?.endpoint ?? c.endpoint;
    const h = o.held?.get(c.account);
    // Reporting from an endpoint other than the one held (it moved itself): its grace starts now.
    let grace: Grace | undefined = prev ?? (h && h.endpoint !== endpoint ? moved(c.account) : h);
    // Its first report from the new endpoint: the instance there is up, and the grace runs from now.
    if (grace?.awaiting && c.endpoint === endpoint)
      grace = { graced: grace.graced, graceUntilMs: Math.max(grace.graceUntilMs ?? 0, o.nowMs + graceMs) };
    live.set(c.account, { endpoint, subnets, ...(grace ? pick(grace) : {}) });
  }
  for (const [account, l] of live) {
    for (const s of o.recorded[String(account)]?.subnets ?? []) l.subnets.add(s);
    if (l.graced && (l.awaiting || (l.graceUntilMs ?? 0) >= o.nowMs)) for (const s of l.graced) l.subnets.add(s);
    else l.graced = l.graceUntilMs = l.awaiting = undefined;
  }
  if (o.held) {
    for (const [account, l] of live) o.held.set(account, { ...l, untilMs: o.nowMs + o.holdMs });
    for (const [account, h] of o.held) {
      if (h.untilMs < o.nowMs || !o.recorded[String(account)]?.started) o.held.delete(account);
      else if (!live.has(account)) live.set(account, { endpoint: h.endpoint, subnets: h.subnets });
    }
  }
  const redirects: Redirect[] = [];
  for (const l of live.values())
    for (const subnet of l.subnets) redirects.push({ subnet, location: `http://${l.endpoint}` });
  return redirects.sort((a, b) => a.subnet.localeCompare(b.subnet) || a.location.localeCompare(b.location));
}

function pick(
  g: Pick<HeldRedirect, "graced" | "graceUntilMs" | "awaiting">,
): Omit<HeldRedirect, "endpoint" | "subnets" | "untilMs"> {
  return { graced: g.graced, graceUntilMs: g.graceUntilMs, awaiting: g.awaiting };
}
