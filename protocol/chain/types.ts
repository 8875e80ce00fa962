/**
 * The chain's records as MarketClient (client.ts) reads and writes them: registry listings and provider status,
 * budget accounts and policies, stored leases, the market's solvency audit. Amounts are bigint token units.
 */

/** Lease lifecycle states, as the contract computes them. */
export const LEASE_STATES = ["None", "Scheduled", "Running", "StartMissed", "Ended", "Settled", "Cancelled"] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

/** Bits of `LeaseRecord.flags`, as LeaseEscrow.sol sets them. */
export const LEASE_FLAGS = { confirmed: 1, terminated: 2, settled: 4, cancelled: 8, collateralReleased: 16 } as const;

/** A yard listing as stored in the registry. */
export interface Listing {
  peerId: string;
  multiaddrs: string[];
  domain: string;
  region: string;
  cpuMillis: number;
  memoryMiB: number;
  cpuPricePerSecond: bigint;
  memoryPricePerSecond: bigint;
}

/** The owner's policy (basis points of 10 000; prices and fees in token units). */
export interface Policy {
  weightBps: number;
  migrateThresholdBps: number;
  replicateThresholdBps: number;
  terminateThresholdBps: number;
  /** Cap on a lease's price per second (0 = no cap). */
  maxPricePerSecond: bigint;
  /** Most one relayed intent may pay its relayer (0 = relayers are paid nothing). */
  maxRelayFee: bigint;
  /** Most relay fees one account pays per UTC day. */
  relayAllowancePerDay: bigint;
}

/** A budget account. */
export interface BudgetAccount {
  id: bigint;
  controller: string;
  balance: bigint;
  parent: bigint;
  root: bigint;
  depth: number;
  closed: boolean;
}

/** A stored lease. */
export interface LeaseRecord {
  id: bigint;
  provider: string;
  start: bigint;
  end: bigint;
  flags: number;
  pricePerSecond: bigint;
  account: bigint;
  claimedUntil: bigint;
  stoppedAt: bigint;
}

/** Everything `icon iep status` shows. */
export interface ProviderStatus {
  listing: Listing | null;
  total: bigint;
  locked: bigint;
  unbonding: bigint;
  readyAt: bigint;
  available: bigint;
  active: boolean;
  earnings: bigint;
  minStake: bigint;
  unbondingPeriod: bigint;
}

/**
 * Result of the on-chain conservation audit. `surplus` = held − (balances + escrow + earnings): positive for
 * stray tokens sent to the market by plain transfer (booked to no one), negative for a shortfall the market
 * cannot prevent (a token that shrinks balances after deposit); `ok` means nothing booked is missing.
 */
export interface Solvency {
  held: bigint;
  balances: bigint;
  escrow: bigint;
  earnings: bigint;
  surplus: bigint;
  ok: boolean;
}
