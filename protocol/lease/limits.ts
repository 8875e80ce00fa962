/** Protocol ids, limits and timeouts of the lease protocol. Each default says why it is what it is. */

/** Lease negotiation protocol id (`/icon/<name>/<semver>`). */
export const LEASE_PROTOCOL = "/icon/lease/1.0.0";

export const leaseLimits = {
  /** Largest frame: a Quote with signature is < 1 KiB; the biggest legitimate message is a Deploy with full
   * command and env lists (≤ 64 KiB together) and an agent part (its secret ≤ 64 KiB, its command ≤ 32 KiB):
   * 192 KiB holds it without letting a peer make us buffer megabytes. */
  maxFrameBytes: 192 * 1024,
  /** The agent sidecar's secret (the ICON's key and state): a key is 32 bytes, an ICON's state a few KiB. */
  maxSecretBytes: 64 * 1024,
  /** Counter-offers per negotiation: enough to converge, few enough to bound the yard's work. */
  maxCounterRounds: 3,
  /** Longest slot one lease may ask for (the contract allows 366 days; a negotiation asks for less). */
  maxSlotSeconds: 30 * 24 * 3600,
  /** Strings (image refs, endpoints, sentences) — long enough for OCI references. */
  maxStringBytes: 512,
  /** Deploy: command and env entries. */
  maxListEntries: 64,
  /** Concurrent inbound negotiation streams per connection. */
  maxInboundStreams: 32,
  /** Negotiations a provider remembers at once (each a few hundred bytes; kept for idempotent retries until
   * `leaseTimeouts.exchangeMs` after its last message). */
  maxSessions: 10_000,
  /** Negotiations one peer may have remembered at once: an ICON bids with one per yard and action, a burst of
   * replications or retries stays far below; beyond it the peer's own least recently active one is forgotten. */
  maxSessionsPerPeer: 64,
  /** New negotiations a peer may start per second before it is refused with RATE_LIMITED. */
  perPeerRatePerSecond: 50,
  /** Burst above that rate. */
  perPeerBurst: 100,
} as const;

export const leaseTimeouts = {
  /** Dialing a yard: loopback or a LAN answers in ms, a WAN in < 1 s; 5 s covers a slow handshake. */
  dialMs: 5_000,
  /** First byte of a reply after a request: a yard answers an RFQ in a few ms, signing included. */
  firstByteMs: 2_000,
  /** A whole negotiation on one stream (RFQ → Opened includes an on-chain transaction). */
  exchangeMs: 60_000,
  /** How long a quote (and its capacity hold) stays valid. */
  quoteValidityS: 60,
} as const;
