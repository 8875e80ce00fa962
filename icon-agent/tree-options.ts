/**
 * The options of tree.ts's TreeMember (what it is built from). Apart so that tree.ts stays a room of its own size;
 * its events are in tree-events.ts.
 */
import type { Libp2p } from "@libp2p/interface";
import type { Signer } from "ethers";
import type { BudgetAccount, MarketClient, TreeNodeRef, TreePlace, TreeSubnet } from "../protocol/index.ts";
import type { TreeEvent } from "./tree-events.ts";
import type { TreeServing } from "./tree-service.ts";

export interface TreeMemberOptions {
  node: Libp2p;
  /**
   * The node's tree service (tree-service.ts `treeServing(node)`): the member opens its gate at start and closes it
   * at stop. Without, the member registers the protocol on `node` itself at start and unregisters it at stop.
   */
  serving?: TreeServing;
  /** The ICON key: the controller of `account` on chain. */
  signer: Signer;
  account: bigint;
  /** Reads the chain and sends this ICON's transactions (allocate, requestFunding) with the ICON key. */
  client: MarketClient;
  /** undefined for the origin */
  parent?: TreeNodeRef;
  /** Period of reports up (and of the origin's policy refresh). */
  reportEveryMs: number;
  /** default 3 */
  missedReportsBeforeReattach?: number;
  /** Own observations (already smoothed by the caller). */
  local: () => TreeSubnet[];
  /** Where this ICON serves: sent up with attach and reports, and down to children in the acks (`parentPlace`). */
  whereAmI: () => { endpoint?: string; location?: string; leaseId?: bigint };
  /** Kept back when granting a child's funding request (default 0); a function is asked at every request. */
  fundingReserve?: bigint | (() => bigint | Promise<bigint>);
  /**
   * What a child of mine must keep (say, its next slot); `undefined` leaves that child alone. Given, a request I
   * cannot pay is first met from what my other children hold beyond that — re-allocation among the children —
   * and only the rest is asked of my parent.
   */
  childKeeps?: (child: BudgetAccount) => Promise<bigint | undefined>;
  onEvent?: (e: TreeEvent) => void;
  /** Tried in order when the parent cannot be reached at start (a restarted ICON's remembered ancestors). */
  ancestors?: TreeNodeRef[];
  /** How long a funding request may take, the parent's on-chain moves included (default 60 s). */
  fundingTimeoutMs?: number;
  /** Validity of this ICON's membership proofs (default 900 s, at most 3600). */
  proofValidityS?: number;
  /** How long on-chain account reads are cached for proof and descent checks (default 10 s). */
  cacheTtlMs?: number;
  /** This instance's epoch (state.ts AgentSeed.instance), sent with every attach and report (default 0). */
  epoch?: () => number;
  /** False once this instance stopped deciding (a hand-over): no report, attach or funding from then on. */
  acting?: () => boolean;
  /** Counts a funding answer as in flight until it settles (acting.ts: a fence waits for it). */
  track?: <T>(act: () => Promise<T>) => Promise<T>;
  /** Reports to the origin fail and I am its named successor: why I take its role now (loss.ts), or undefined. */
  mayRefound?: (origin: TreeNodeRef, place: TreePlace | undefined) => Promise<string | undefined>;
}
