/**
 * The yard's configuration file (JSON), validated at start. Every error names the field and the fix.
 *
 * Amounts are exact: either `"<integer> units"` (token base units) or `"<decimal> <SYMBOL>"` (with the token's
 * decimals, resolved once the yard has connected to the chain and read the token), e.g. `"0.0002 iUSD"`.
 *
 * @example
 *   const config = parseYardConfig(JSON.parse(await readFile(file, "utf8")), file);
 */
import path from "node:path";
import { z } from "zod";
import {
  ConfigError,
  DEFAULT_AGENT_GATEWAY_PORT,
  checkFeeTip,
  feeFields,
  p2pDiscoverySchema,
  parseAmount,
  parseGasPrice,
  type TokenInfo,
} from "../protocol/index.ts";

const amount = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s+[A-Za-z][A-Za-z0-9]*\s*$/, 'an amount like "100 units" or "0.0001 iUSD"');

/** Wei as people write them: "30000 gwei", "0.5 gwei", "1500000 wei" (an OP-stack chain's L1 data fee). */
const wei = z.string().refine((t) => {
  try {
    parseGasPrice(t);
    return true;
  } catch {
    return false;
  }
}, 'an amount of wei like "30000 gwei" or "1500000 wei" (gwei with at most 9 decimals, wei whole)');

const rpcUrl = z.string().regex(/^https?:\/\/\S+$/i, "must be an http:// or https:// URL, e.g. http://127.0.0.1:8545");

const surchargeTier = z
  .object({
    /** Utilization (0..1) above which the tier applies, counting the requested lease. */
    aboveUtilization: z.number().min(0).max(1),
    /** Surcharge in basis points of the base price (2000 = +20 %). */
    bps: z.number().int().min(0).max(100_000),
  })
  .strict();

export const yardConfigSchema = z
  .object({
    /** Names this yard's containers and network; lower case letters, digits and dashes. */
    yardId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, "1-31 characters: lower case letters, digits and dashes, e.g. edge-a"),
    /** Database, peer key, image uploads. Relative paths are relative to the config file. */
    dataDir: z.string().min(1),
    chain: z
      .object({
        /** JSON-RPC over HTTP(S) (`.url()` alone took "localhost:8545", a URL with the scheme "localhost:"). */
        rpcUrl: rpcUrl.optional(),
        /** Several endpoints, tried in order after rpcUrl: failover, Retry-After honoured (protocol/chain/rpc.ts). */
        rpcUrls: z.array(rpcUrl).min(1).max(8).optional(),
        /** Deployment file written by `icon deploy`. */
        deployment: z.string().min(1),
        /** Blocks an event must be buried under before the yard acts on it (0 on a local automining chain). */
        confirmations: z.number().int().min(0).max(64).default(2),
        pollMs: z.number().int().min(50).max(60_000).default(1000),
        /**
         * EIP-1559 fees of the operator's transactions (protocol/chain/fees.ts): the cap `maxFee`, the tip bound
         * `maxPriorityFee`, when a stuck one is replaced; and `gasTokenPrice`, what one ETH (10^18 wei of gas) is
         * worth in the market's token, with which claims weigh their gas (claim-policy.ts; absent: not weighed);
         * `l1FeePerClaim`, the L1 data fee an OP-stack chain adds to each claim transaction, beyond its gas
         * (absent: 0 — on such a chain set it, or the policy undercounts a claim's cost).
         */
        fees: feeFields
          .extend({ gasTokenPrice: amount.optional(), l1FeePerClaim: wei.optional() })
          .strict()
          .superRefine(checkFeeTip)
          .default({}),
      })
      .strict()
      .refine((c) => c.rpcUrl !== undefined || c.rpcUrls !== undefined, {
        message: "required: give chain.rpcUrl (one RPC URL) or chain.rpcUrls (several, tried in order)",
        path: ["rpcUrl"],
      })
      // rpcUrl: the first endpoint (shown on /status, carried to sidecars); rpcUrls: all of them, rpcUrl first.
      .transform(({ rpcUrl, rpcUrls, ...c }) => {
        const urls = [...new Set([...(rpcUrl === undefined ? [] : [rpcUrl]), ...(rpcUrls ?? [])])];
        return { ...c, rpcUrl: urls[0]!, rpcUrls: urls };
      }),
    /** libp2p listen multiaddrs. */
    listen: z.array(z.string().startsWith("/")).min(1).default(["/ip4/127.0.0.1/tcp/0"]),
    /** libp2p discovery: mDNS, bootstrap peers, the DHT (where the yard announces itself to ICONs). */
    p2p: p2pDiscoverySchema,
    /** Address the yard's ingress (the only way into containers) listens on. */
    publicHost: z.string().min(1).default("127.0.0.1"),
    /**
     * A network namespace the yard's public side lives in (a testbed's site): the ingress's TCP listeners are bound
     * there and the clients' round trips read there; the yard's process, its containers and libp2p stay in the
     * yard's own, and so do its ICON agents' listeners (on {@link controlHostOf}); UDP ports are refused (not bound there yet). A path as `nsenter --net=` takes (/run/netns/<name>, /proc/<pid>/ns/net); needs root.
     */
    publicNetns: z
      .string()
      .startsWith("/", { message: "must be an absolute path such as /run/netns/<name> (see ip netns list)" })
      .optional(),
    http: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(9464) })
      .strict()
      .default({}),
    listing: z
      .object({
        domain: z.string().min(1),
        region: z.string().min(1).max(64),
        /** Host name that is the SRV target of this yard (for the printed zone records). */
        host: z.string().min(1).optional(),
        /** Stake kept at least at this amount (topped up at start); omit to manage stake with `icon iep stake`. */
        stake: amount.optional(),
      })
      .strict(),
    capacity: z
      .object({
        cpuMillis: z.number().int().min(1).max(1_024_000),
        memoryMiB: z.number().int().min(16).max(16_777_216),
        maxLeases: z.number().int().min(1).max(10_000).default(100),
        pidsPerLease: z.number().int().min(8).max(65_536).default(256),
        /** Smallest lease this yard takes. */
        minCpuMillis: z.number().int().min(1).default(10),
        minMemoryMiB: z.number().int().min(6).default(16),
      })
      .strict(),
    pricing: z
      .object({
        /** Lowest price per second of any lease. */
        floorPerSecond: amount,
        /** Price per core per second. */
        cpuPerCoreSecond: amount,
        /** Price per GiB of memory per second. */
        memoryPerGiBSecond: amount,
        surcharge: z.array(surchargeTier).max(16).default([]),
        /**
         * Asked per ICON intent this yard relays (/icon/relay/1.0.0), repaid by the market from the ICON's account
         * into this yard's earnings; ICONs whose owner caps relay fees below it go to another yard. Default
         * 0.001 of the token whatever its decimals (1000 units of a 6-decimal token such as USDC).
         */
        relayFee: amount.optional(),
      })
      .strict(),
    lease: z
      .object({
        /** Seconds between a quote and its slot start (time to accept and open on chain). */
        startLeadS: z.number().int().min(1).max(3600).default(2),
        /** The container may start this many seconds before its slot (free warm-up for the tenant). */
        earlyStartS: z.number().int().min(0).max(60).default(2),
        /** How long a quote and its capacity hold stay valid. */
        quoteValidityS: z.number().int().min(5).max(3600).default(60),
        maxSlotS: z
          .number()
          .int()
          .min(10)
          .max(30 * 24 * 3600)
          .default(7 * 24 * 3600),
        minSlotS: z.number().int().min(1).default(10),
        /** Claims accrued payment this often while a lease runs (and once at the end). */
        claimIntervalS: z.number().int().min(5).max(86_400).default(300),
        /** After termination, the image stays this long so a quick redeploy does not need a new upload. */
        imageGraceS: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400)
          .default(600),
        /** Seconds Docker waits after SIGTERM before SIGKILL. */
        stopTimeoutS: z.number().int().min(0).max(60).default(2),
        /** Restarts of a crashed (e.g. OOM-killed) container within one lease before the yard gives up. */
        maxRestarts: z.number().int().min(0).max(100).default(3),
      })
      .strict()
      .default({}),
    /** Bounds on the capacity quotes hold (see README "Holds"). */
    holds: z
      .object({
        /** Share of capacity that RFQs without a proof of control may hold at any instant: enough for a tenant
         * whose software predates proofs to get a small lease, too little for strangers to matter. */
        anonymousShare: z.number().min(0).max(1).default(0.1),
        /** Holds without a proof per peer: one negotiation at a time is all an anonymous tenant needs. */
        anonymousPerPeer: z.number().int().min(0).max(64).default(1),
        /** Holds per peer, proven or not: an ICON bids at most a few actions at once at one yard. */
        perPeer: z.number().int().min(1).max(1024).default(8),
        /** Proven holds per account: an app's ICON replicating several services at once stays below. */
        perAccount: z.number().int().min(1).max(1024).default(8),
      })
      .strict()
      .default({}),
    /** Bounds of the public ingress (see README "Ingress: guarantees"); defaults' reasons in ingress.ts, udp.ts. */
    ingress: z
      .object({
        /** TCP mode: a connection with no byte either way for this long is closed (HAProxy's usual L4 timeout). */
        tcpIdleS: z.number().int().min(1).max(86_400).default(600),
        /** HTTP mode: a client connection with no byte either way for this long, a request under way included. */
        httpIdleS: z.number().int().min(1).max(86_400).default(120),
        /**
         * Open TCP/HTTP connections from one client address (IPv6: one /64) to one port: many clients share one
         * address behind a carrier-grade NAT, and 1024 still leaves the port's 4096 to at least four sources.
         */
        maxConnectionsPerClient: z.number().int().min(1).max(1_000_000).default(1024),
        /** Open TCP/HTTP connections to one port. */
        maxConnectionsPerPort: z.number().int().min(1).max(1_000_000).default(4096),
        /** UDP: a session with no datagram either way for this long is closed. */
        udpIdleS: z.number().int().min(1).max(3600).default(30),
        /** UDP sessions of one client address (IPv6: one /64) on one port; beyond, its own idlest is recycled. */
        udpSessionsPerClient: z.number().int().min(1).max(1_000_000).default(64),
        /** UDP sessions (one socket each) of one port; beyond, the port's idlest is closed. */
        udpSessionsPerPort: z.number().int().min(1).max(1_000_000).default(1024),
        /** UDP sessions of all ports; beyond, the idlest of the fullest port is closed. */
        udpSessions: z.number().int().min(1).max(1_000_000).default(8192),
        /**
         * How often the kernel's round-trip estimate of the ingress's TCP connections is read (`ss`), seconds; each
         * subnet's clients' round trip goes to the lease holder in its telemetry (measured l_ij); 0 = never.
         */
        rttSampleS: z.number().int().min(0).max(3600).default(5),
      })
      .strict()
      .superRefine((v, ctx) => {
        const atMost = (field: keyof typeof v, bound: keyof typeof v): void => {
          if (v[field] > v[bound])
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [field],
              message: `must be at most ingress.${bound} (${v[bound]}); lower it or raise ${bound}`,
            });
        };
        atMost("maxConnectionsPerClient", "maxConnectionsPerPort");
        atMost("udpSessionsPerClient", "udpSessionsPerPort");
        atMost("udpSessionsPerPort", "udpSessions");
      })
      .default({}),
    docker: z
      .object({
        socket: z.string().min(1).optional(),
        network: z.string().min(1).optional(),
        /** An nftables table that keeps containers off the host's own services (needs nft and root). */
        hostFirewall: z.boolean().default(true),
      })
      .strict()
      .default({}),
    images: z
      .object({
        /** Largest upload: the tarball, which is also what Docker extracts (compressed input is refused). */
        maxBytes: z
          .number()
          .int()
          .min(1 << 20)
          .default(512 << 20),
        /** Bytes of unfinished uploads one lease holder may keep here (each counts at its offered size). */
        maxPartialBytesPerHolder: z
          .number()
          .int()
          .min(1 << 20)
          .default(1 << 30),
        /** Bytes of unfinished uploads of all lease holders together. */
        maxPartialBytes: z
          .number()
          .int()
          .min(1 << 20)
          .default(4 * 2 ** 30),
        /** An unfinished upload that received nothing for this long is deleted (at start, every minute, and
         * before each new offer). */
        partialIdleS: z
          .number()
          .int()
          .min(60)
          .max(7 * 86_400)
          .default(3600),
      })
      .strict()
      .superRefine((v, ctx) => {
        if (v.maxPartialBytesPerHolder < v.maxBytes)
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ["maxPartialBytesPerHolder"],
            message: `must be at least images.maxBytes (${v.maxBytes}), or no image of the largest size could be uploaded`,
          });
        if (v.maxPartialBytes < v.maxPartialBytesPerHolder)
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ["maxPartialBytes"],
            message: `must be at least images.maxPartialBytesPerHolder (${v.maxPartialBytesPerHolder})`,
          });
      })
      .default({}),
    /**
     * /icon/probe/1.0.0 (probe.ts): path measurements (traceroute and ping) towards a lease's client subnets, for
     * the lease's holder only. Each lease may ask `perLeaseBurst` at once and one every `perLeaseEveryS` after.
     */
    probe: z
      .object({
        enabled: z.boolean().default(true),
        perLeaseBurst: z.number().int().min(1).max(100).default(3),
        perLeaseEveryS: z.number().min(1).max(3600).default(10),
        /** Probes measuring at once, all leases together (each sends maxHops + 3 packets). */
        maxConcurrent: z.number().int().min(1).max(64).default(2),
        /** Longest path traced (one UDP probe per TTL, all sent at once). */
        maxHops: z.number().int().min(1).max(64).default(16),
        /** Time one measurement may take before its tools are killed. */
        timeoutS: z.number().min(3).max(60).default(10),
        /** A subnet is the lease's client while its last request to the lease is at most this old. */
        clientRecentS: z.number().int().min(10).max(86_400).default(600),
        /** Round trips measured for a CapacityQuery's `rttTargets` (rtt.ts: a candidate's l_ij, for anyone who
         * asks): per peer `rttPerPeerBurst` measured queries at once and one every `rttPerPeerEveryS` after; all
         * peers together `rttPacketsPerS` echo requests a second (burst: one full query, 8 × 3). Over budget the
         * answer still comes, with status RTT_OVER_BUDGET and no figures. */
        rttEnabled: z.boolean().default(true),
        rttPerPeerBurst: z.number().int().min(1).max(100).default(2),
        rttPerPeerEveryS: z.number().min(1).max(3600).default(30),
        rttPacketsPerS: z.number().min(1).max(10_000).default(20),
        /** A network namespace to run the tools in (`nsenter --net=<path>`), e.g. /run/netns/site: a test bed
         * whose site is a namespace. Absent: `publicNetns`, else the yard's own. */
        netns: z
          .string()
          .regex(/^\/[^\0]*$/, "an absolute path, e.g. /run/netns/site")
          .optional(),
      })
      .strict()
      .default({}),
    overlay: z
      .object({
        /** Other yards to ask about routes (multiaddrs ending in /p2p/<peer id>), besides connected ones. */
        peers: z.array(z.string().regex(/^\/.*\/p2p\/\w+$/, "a multiaddr ending in /p2p/<peer id>")).default([]),
        /** Instances kept per service and policy (k-pruning). */
        k: z.number().int().min(1).max(256).default(8),
        /** Seconds a route answer and an interest registration last. */
        routeTtlS: z.number().int().min(5).max(3600).default(60),
        /** Half-life of the flow observations' smoothing, seconds. */
        flowHalfLifeS: z.number().min(0.5).max(3600).default(10),
        /** Semantic names for containers (DNS on the network's gateway, virtual addresses on the bridge). */
        semanticDns: z.boolean().default(true),
        /**
         * Where the DNS responder forwards names that are not semantic (`ip:port`): containers' other lookups, and
         * the SRV/PTR discovery of agent sidecars. Without it those are answered REFUSED.
         */
        dnsUpstream: z
          .string()
          .regex(/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\])(:\d+)?$/i, "give ip or ip:port, e.g. 127.0.0.1:53")
          .optional(),
        /** Virtual address range of this yard; default a /24 of 10.233.0.0/16 picked by the yard id. */
        serviceCidr: z
          .string()
          .regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "an IPv4 CIDR such as 10.233.7.0/24")
          .optional(),
        /** Yard connections kept for tunnels (least recently used closed beyond it). */
        maxTunnelPeers: z.number().int().min(1).max(4096).default(64),
        /** Seconds an idle yard connection is kept. */
        tunnelIdleS: z.number().int().min(1).max(86_400).default(60),
      })
      .strict()
      .default({}),
    /**
     * The agent gateway (agent-gateway.ts): what a lease's agent sidecar may reach — the chain RPC, libp2p to other
     * peers, the ALTO server — through an HTTP server on the container network's gateway address.
     */
    agentGateway: z
      .object({
        /** Off: sidecars reach nothing of the yard's but its DNS (their agents cannot work). */
        enabled: z.boolean().default(true),
        /** Port on the gateway address (each yard's network has its own address, so yards on one host share it). */
        port: z.number().int().min(1).max(65535).default(DEFAULT_AGENT_GATEWAY_PORT),
        /** The chain RPC carried to sidecars (reads only); default chain.rpcUrl. */
        rpcUrl: z
          .string()
          .regex(/^https?:\/\/\S+$/i, "must be an http:// or https:// URL, e.g. http://127.0.0.1:8545")
          .optional(),
        /** An ALTO server (RFC 7285) carried to sidecars at /alto (GET only); none by default. */
        altoUrl: z
          .string()
          .regex(/^https?:\/\/\S+$/i, "must be an http:// or https:// URL, e.g. http://127.0.0.1:8181")
          .optional(),
        /**
         * Whether /dial may reach loopback addresses (127/8, ::1). Off in production: a sidecar would reach the
         * host's own listeners. One-machine test beds, where every yard listens on 127.0.0.1, turn it on.
         */
        dialLoopback: z.boolean().default(false),
        limits: z
          .object({
            /** Requests per second one sidecar may make on average: an agent's period needs a handful. */
            requestsPerSecond: z.number().min(0.1).max(10_000).default(20),
            /** Requests one sidecar may make at once above the rate (a batch of reads at the start of a period). */
            burst: z.number().int().min(1).max(100_000).default(40),
            /** Requests of one sidecar under way at once. */
            concurrentPerLease: z.number().int().min(1).max(1024).default(8),
            /** Requests of all sidecars under way at once: above any one lease's share, so none starves another. */
            concurrent: z.number().int().min(1).max(65_536).default(128),
            /** Requests under way of all the sidecars of one lease holder (app account): no tenant takes all. */
            concurrentPerTenant: z.number().int().min(1).max(65_536).default(32),
            /** Requests to the chain RPC under way at once, all sidecars together. */
            upstreamConcurrent: z.number().int().min(1).max(4096).default(16),
            /** Gas one eth_call or eth_estimateGas may use (filled in when the call names none). */
            callGas: z.number().int().min(21_000).max(1_000_000_000).default(10_000_000),
            /** /dial requests of one sidecar under way at once (each makes the yard dial out). */
            dialsPerLease: z.number().int().min(1).max(64).default(2),
            /** /dial requests of all sidecars under way at once. */
            dials: z.number().int().min(1).max(1024).default(16),
            /** Bytes of answers being written to sidecars at once, all together (slow readers hold them). */
            answerBytesInFlight: z
              .number()
              .int()
              .min(1 << 20)
              .max(4 * 2 ** 30)
              .default(64 * 2 ** 20),
            /** Open HTTP connections of one sidecar. */
            connectionsPerLease: z.number().int().min(1).max(1024).default(16),
            /** Forward targets one sidecar holds (the least recently used idle one closes to make room). */
            forwardsPerLease: z.number().int().min(1).max(1024).default(32),
            /** Connections through one forward (libp2p multiplexes over one). */
            connectionsPerForward: z.number().int().min(1).max(1024).default(16),
            /** A forward without connections for this long closes. */
            forwardIdleS: z.number().int().min(1).max(86_400).default(300),
            /** Largest answer carried from the chain RPC or the ALTO server. */
            maxAnswerBytes: z
              .number()
              .int()
              .min(64 * 1024)
              .max(256 * 2 ** 20)
              .default(4 * 2 ** 20),
          })
          .strict()
          .superRefine((v, ctx) => {
            if (v.concurrentPerLease > v.concurrent)
              ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["concurrentPerLease"],
                message: `must be at most agentGateway.limits.concurrent (${v.concurrent}); lower it or raise concurrent`,
              });
            if (v.concurrentPerTenant > v.concurrent)
              ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["concurrentPerTenant"],
                message: `must be at most agentGateway.limits.concurrent (${v.concurrent}); lower it or raise concurrent`,
              });
          })
          .default({}),
      })
      .strict()
      .default({}),
  })
  .strict();

export type YardConfigInput = z.input<typeof yardConfigSchema>;
export type YardConfig = z.output<typeof yardConfigSchema> & { file: string };

/**
 * Where the yard's control plane is reached: `publicHost`, unless the public side lives in another namespace
 * (`publicNetns`); then the address of its first libp2p listen multiaddr — a wildcard (0.0.0.0, ::) as it is, as
 * libp2p binds it (the agent gateway then names the addresses the yard's node listens on). ICON agents' libp2p
 * listeners bind there: other yards and agents reach them, clients need not.
 */
export function controlHostOf(c: Pick<YardConfig, "publicHost" | "publicNetns" | "listen">): string {
  if (c.publicNetns === undefined) return c.publicHost;
  return /^\/ip[46]\/([^/]+)\//.exec(c.listen[0] ?? "")?.[1] ?? "0.0.0.0";
}

/** Validates `raw`; relative paths are resolved against the config file's folder. */
export function parseYardConfig(raw: unknown, file: string): YardConfig {
  const r = yardConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".") || "(top level)"}: ${explain(i)}`);
    throw new ConfigError("BAD_CONFIG", `${file} is not a valid yard configuration:\n${lines.join("\n")}`, {
      details: { issues: r.error.issues },
    });
  }
  const c = r.data;
  const dir = path.dirname(path.resolve(file));
  const problems: string[] = [];
  if (c.capacity.minCpuMillis > c.capacity.cpuMillis)
    problems.push("capacity.minCpuMillis: larger than capacity.cpuMillis; lower it");
  if (c.capacity.minMemoryMiB > c.capacity.memoryMiB)
    problems.push("capacity.minMemoryMiB: larger than capacity.memoryMiB; lower it");
  if (c.lease.minSlotS > c.lease.maxSlotS) problems.push("lease.minSlotS: larger than lease.maxSlotS; lower it");
  if (c.lease.earlyStartS >= c.lease.startLeadS + 60)
    problems.push("lease.earlyStartS: must be smaller than lease.startLeadS + 60");
  const tiers = c.pricing.surcharge.map((t) => t.aboveUtilization);
  if (tiers.some((t, i) => i > 0 && t <= tiers[i - 1]!))
    problems.push("pricing.surcharge: list the tiers by increasing aboveUtilization");
  if (problems.length > 0)
    throw new ConfigError("BAD_CONFIG", `${file} is not a valid yard configuration:\n  ${problems.join("\n  ")}`);
  return {
    ...c,
    file,
    dataDir: path.resolve(dir, c.dataDir),
    chain: { ...c.chain, deployment: path.resolve(dir, c.chain.deployment) },
  };
}

function explain(i: z.ZodIssue): string {
  if (i.code === "unrecognized_keys") return `unknown field(s) ${i.keys.join(", ")}; remove them or fix the spelling`;
  if (i.code === "invalid_type" && i.received === "undefined") return `required (${i.expected}) is missing; add it`;
  if (i.code === "invalid_string" && i.validation === "url") return "must be a URL, e.g. http://127.0.0.1:8545";
  return i.message;
}

/** The yard's prices in token units, resolved against the token's decimals. */
export interface Prices {
  floorPerSecond: bigint;
  cpuPerCoreSecond: bigint;
  memoryPerGiBSecond: bigint;
  surcharge: { aboveUtilization: number; bps: number }[];
  stake: bigint | undefined;
  /** Asked per relayed ICON intent. */
  relayFee: bigint;
  /** Token units one ETH (10^18 wei) is worth, for the claim policy; undefined: gas is not weighed. */
  gasTokenPrice?: bigint | undefined;
}

/** The relay fee a yard asks unless configured: 0.001 token (a thousandth of 10^decimals, at least one unit). */
export function defaultRelayFee(token: TokenInfo): bigint {
  const fee = 10n ** BigInt(token.decimals) / 1000n;
  return fee > 0n ? fee : 1n;
}

/** Resolves the config's amounts ("100 units" or "0.0001 iUSD") into token units. */
export function resolvePrices(c: YardConfig, token: TokenInfo): Prices {
  const units = (text: string, field: string): bigint => {
    const m = /^\s*(\d+)\s+units\s*$/.exec(text);
    if (m) return BigInt(m[1]!);
    const sym = /\s([A-Za-z][A-Za-z0-9]*)\s*$/.exec(text)?.[1];
    if (sym !== token.symbol)
      throw new ConfigError(
        "BAD_CONFIG",
        `${c.file}: ${field} "${text}" is in ${sym}, but the market's token is ${token.symbol}; write "<n> units" or "<decimal> ${token.symbol}"`,
      );
    return parseAmount(text, token, `${c.file}: ${field}`);
  };
  const p = {
    floorPerSecond: units(c.pricing.floorPerSecond, "pricing.floorPerSecond"),
    cpuPerCoreSecond: units(c.pricing.cpuPerCoreSecond, "pricing.cpuPerCoreSecond"),
    memoryPerGiBSecond: units(c.pricing.memoryPerGiBSecond, "pricing.memoryPerGiBSecond"),
    surcharge: c.pricing.surcharge,
    stake: c.listing.stake === undefined ? undefined : units(c.listing.stake, "listing.stake"),
    relayFee: c.pricing.relayFee === undefined ? defaultRelayFee(token) : units(c.pricing.relayFee, "pricing.relayFee"),
    ...(c.chain.fees.gasTokenPrice === undefined
      ? {}
      : { gasTokenPrice: units(c.chain.fees.gasTokenPrice, "chain.fees.gasTokenPrice") }),
  };
  if (p.floorPerSecond === 0n)
    throw new ConfigError(
      "BAD_CONFIG",
      `${c.file}: pricing.floorPerSecond must be above zero (the market refuses free leases)`,
    );
  if (p.floorPerSecond >= 2n ** 96n)
    throw new ConfigError("BAD_CONFIG", `${c.file}: pricing.floorPerSecond does not fit the contract's uint96 price`);
  if (p.relayFee >= 2n ** 96n)
    throw new ConfigError("BAD_CONFIG", `${c.file}: pricing.relayFee does not fit the contract's uint96 fee`);
  return p;
}
