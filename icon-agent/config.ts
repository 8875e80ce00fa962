/**
 * The app owner's config for `icon app deploy` (JSON): what the ICON runs, where it looks for yards, and the
 * agent's timings. Validated with messages that name the field and the fix; defaults suit a real deployment.
 *
 * @example
 *   {
 *     "service": { "image": "icon/web:1", "imageDigest": "0x…", "ports": [8080], "httpPorts": [8080],
 *                  "name": "shop.web.prod", "cpuMillis": 250, "memoryMiB": 64, "slotSeconds": 3600 },
 *     "discovery": { "domains": ["edge.example.com"], "dnsServers": ["127.0.0.1:5353"], "learnDomains": true },
 *     "network": { "altoUrl": "http://127.0.0.1:8181" },
 *     "initialRegion": "cloud"
 *   }
 * `service.name` is `app.service.servicens`: the deploy fills in the application's namespace label `r<root>`.
 */
import { z } from "zod";
import { ConfigError, deploymentSchema, p2pDiscoverySchema, p2pDiscovers, type Deployment } from "../protocol/index.ts";

const port = z.number().int().min(1).max(65535);
const LABEL = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
/** `app.service.servicens`: the namespace label between `app` and `service` is the application's, not the owner's. */
const SERVICE_NAME = new RegExp(`^${LABEL}\\.${LABEL}\\.${LABEL}$`);

/** The agent's timings and thresholds: the app config's `agent` section, and part of every agent's state. */
const agentTimingsSchema = z.object({
  listenHost: z.string().default("127.0.0.1"),
  periodMs: z.number().int().min(200).max(600_000).default(5000),
  halfLifeS: z.number().min(0.5).max(86_400).default(30),
  coolDownS: z.number().min(1).max(86_400).default(120),
  confirmations: z.number().int().min(1).max(100).default(3),
  /**
   * Blocks a lease's change of state (ended, terminated) must be buried under before the agent acts on it: a
   * reorganisation shallower than this cannot make it act on a termination that vanished. Left out: 2, or 0 on the
   * embedded development chain (31337), which mines only when a transaction comes (filled in by agentEnvFrom).
   */
  chainConfirmations: z
    .number({ message: "agent.chainConfirmations: a whole number of blocks, 0 to 64 (default 2)" })
    .int("agent.chainConfirmations: a whole number of blocks, 0 to 64 (default 2)")
    .min(0, "agent.chainConfirmations: 0 (act on the newest block) or more")
    .max(64, "agent.chainConfirmations: at most 64 blocks; a deeper reorganisation is not one a daemon can ride out")
    .optional(),
  /** No decisions in the first seconds of a placement (its clients have not arrived yet). */
  warmupS: z.number().min(0).max(86_400).default(60),
  graceS: z.number().int().min(0).max(86_400).default(300),
  renewBeforeS: z.number().int().min(10).max(86_400).default(300),
  reportEveryMs: z.number().int().min(200).max(600_000).default(5000),
  idleRate: z.number().min(0).default(0.05),
  /** See Knobs.minKeepShare. */
  minKeepShare: z.number().min(0).max(1).default(0.5),
  /** See Knobs.hysteresis: a replica terminates only below the replication threshold less this band. */
  hysteresis: z.number().min(0).max(1).default(0.05),
  refLatencyMs: z.number().positive().default(100),
});

/** The agent's timings and thresholds when the app config leaves them out (the simulator starts from these). */
export function agentTimingDefaults(): z.infer<typeof agentTimingsSchema> {
  return agentTimingsSchema.parse({});
}

/** Defaults of the agent's share of each lease: bench:lease measured 90–94 MiB idle RSS and < 1 % CPU. */
export const SIDECAR_DEFAULTS = { image: "icon/agent:1", cpuMillis: 100, memoryMiB: 160 } as const;
/** Least memory the agent's share may have: the idle agent alone takes about 94 MiB. */
export const SIDECAR_MIN_MEMORY_MIB = 128;

/**
 * The ICON's agent in its lease (sidecar placement): the image, its digest (`icon app deploy` reads it from the
 * local Docker engine when the config leaves it out) and its share of every lease, asked for on top of the
 * service's CPU and memory.
 */
const sidecarConfigSchema = z
  .object({
    image: z.string().min(1).default(SIDECAR_DEFAULTS.image),
    imageDigest: z
      .string()
      .regex(
        /^0x[0-9a-f]{64}$/,
        "the agent image's id as 0x + 64 hex digits (docker image inspect --format {{.Id}} icon/agent:1), or leave it out and `icon app deploy` reads it from the local Docker engine",
      )
      .optional(),
    cpuMillis: z
      .number()
      .int()
      .min(10, "the agent needs at least 10 mCPU; give sidecar.cpuMillis ≥ 10 (default 100)")
      .max(4000, "the agent idles below 1 % of a core; give sidecar.cpuMillis ≤ 4000 (default 100)")
      .default(SIDECAR_DEFAULTS.cpuMillis),
    memoryMiB: z
      .number()
      .int()
      .min(
        SIDECAR_MIN_MEMORY_MIB,
        `the idle agent takes about 94 MiB; give sidecar.memoryMiB ≥ ${SIDECAR_MIN_MEMORY_MIB} (default ${SIDECAR_DEFAULTS.memoryMiB})`,
      )
      .max(16_384, "give sidecar.memoryMiB ≤ 16384 (default 160)")
      .default(SIDECAR_DEFAULTS.memoryMiB),
  })
  .strict();

export const appConfigSchema = z
  .object({
    service: z
      .object({
        image: z.string().min(1),
        imageDigest: z
          .string()
          .regex(/^0x[0-9a-f]{64}$/, "the image id as 0x + 64 hex digits (docker image inspect --format {{.Id}})"),
        command: z.array(z.string()).default([]),
        env: z.array(z.string()).default([]),
        ports: z.array(port).min(1, "list at least one container port"),
        httpPorts: z.array(port).default([]),
        /**
         * `app.service.servicens` (three DNS labels): the deploy fills in the application's namespace label
         * `r<root>` (its root account), and the ICONs deploy `app.r<root>.service.servicens`.
         */
        name: z
          .string()
          .refine((n) => SERVICE_NAME.test(n), {
            message:
              "give app.service.servicens: three lower-case DNS labels (the deploy fills in the namespace label r<root account>, e.g. shop.web.prod becomes shop.r7.web.prod)",
          })
          .optional(),
        cpuMillis: z.number().int().min(10).max(64_000),
        memoryMiB: z.number().int().min(16).max(262_144),
        slotSeconds: z
          .number()
          .int()
          .min(60)
          .max(30 * 86_400)
          .default(3600),
      })
      .strict(),
    discovery: z
      .object({
        domains: z.array(z.string().min(1)).default([]),
        dnsServers: z.array(z.string().regex(/^[0-9a-f.:[\]]+:\d+$/i, "give ip:port, e.g. 127.0.0.1:53")).default([]),
        seeds: z.array(z.string().regex(/\/p2p\/\w+$/, "a multiaddr ending in /p2p/<peer id>")).default([]),
        /** Every yard listed in the registry. */
        registry: z.boolean().default(false),
        /** Domains learned from clients' PTR names are searched for `_edge._tcp` SRV records too. */
        learnDomains: z.boolean().default(true),
      })
      .strict(),
    /** libp2p discovery: yards found by mDNS, bootstrap peers or the DHT are candidates once the registry lists them. */
    p2p: p2pDiscoverySchema,
    network: z.object({ altoUrl: z.string().url().optional() }).strict().default({}),
    initialRegion: z.string().optional(),
    agent: agentTimingsSchema.strict().default({}),
    sidecar: sidecarConfigSchema.default({}),
  })
  .strict()
  .refine(
    (c) => c.discovery.domains.length + c.discovery.seeds.length > 0 || c.discovery.registry || p2pDiscovers(c.p2p),
    {
      message:
        "give discovery.domains (DNS SRV), discovery.seeds, discovery.registry: true or a p2p discovery (mdns, bootstrap, dht)",
      path: ["discovery"],
    },
  );

/**
 * The ICON's agent as its leases carry it (sidecar placement): every RFQ asks for the service's CPU and memory plus
 * this share, and a Deploy that hands the ICON over adds the agent part (its sealed state as the secret).
 */
const sidecarSpecSchema = z.object({
  imageRef: z.string(),
  imageDigest: z.string(),
  command: z.array(z.string()),
  cpuMillis: z.number(),
  memoryMiB: z.number(),
});

/** What the ICON runs (the deploy's `service`, in the names the yard's Deploy uses). */
const serviceSpecSchema = z.object({
  imageRef: z.string(),
  imageDigest: z.string(),
  command: z.array(z.string()),
  env: z.array(z.string()),
  ports: z.array(z.number()),
  httpPorts: z.array(z.number()),
  /**
   * The service key `app.r<root>.service.servicens`, in the namespace of the application's root account
   * (protocol/lease/namespace.ts); `deployApp` (app.ts) fills it in from the config's `app.service.servicens`.
   */
  service: z.string().optional(),
  cpuMillis: z.number(),
  memoryMiB: z.number(),
  slotSeconds: z.number(),
});

/**
 * The environment an ICON and the replicas it makes share (written into each agent's state, agent.json): built by
 * {@link agentEnvFrom} from a validated app config. `AgentEnv` is this schema's type.
 */
export const agentEnvSchema = agentTimingsSchema.extend({
  /** The chain's RPC endpoint (the first of `rpcUrls` when several are given). */
  rpcUrl: z.string(),
  /** Several endpoints, tried in order: failover, Retry-After honoured (protocol/chain/rpc.ts); absent: rpcUrl. */
  rpcUrls: z.array(z.string()).min(1).optional(),
  deployment: deploymentSchema,
  dnsServers: z.array(z.string()),
  domains: z.array(z.string()),
  /**
   * Also look for yards near the clients: the PTR name of a client seen in each busy subnet gives its domains,
   * whose `_edge._tcp` SRV records are queried like `domains` (default on; the paper's "IEPs on the paths to the
   * end-clients", their end point; the hops between are path tomography's, edisco.ts, on while a path probe is
   * wired in).
   */
  learnDomains: z.boolean().optional(),
  seeds: z.array(z.string()),
  /** Also every listing in the registry. */
  registry: z.boolean().optional(),
  /**
   * libp2p discovery (mDNS, bootstrap peers, the DHT): the yards it finds are candidates too, once the registry
   * names their peer ids.
   */
  p2p: p2pDiscoverySchema.optional(),
  /** ALTO server base URL (network and cost map). */
  altoUrl: z.string().optional(),
  spec: serviceSpecSchema,
  /** The origin's first placement: the yard whose region has this name (else the best by price). */
  initialRegion: z.string().optional(),
  /**
   * Sidecar placement: the ICONs run inside their leases (replicas are handed into their lease's sidecar, never
   * started here). Absent: every agent is a local process (`icon app deploy --local`, the tests' agents).
   */
  sidecar: sidecarSpecSchema.optional(),
});

export type ServiceSpec = z.infer<typeof serviceSpecSchema>;
export type SidecarSpec = z.infer<typeof sidecarSpecSchema>;
export type AgentEnv = z.infer<typeof agentEnvSchema>;

export type AppConfigInput = z.input<typeof appConfigSchema>;

/**
 * Validates `raw` and turns it into an agent environment for `rpcUrl` (one endpoint or several) / `deployment`. With `sidecar` (the agent
 * image's digest, when the config does not name it) the ICONs are placed as sidecars; `local` leaves the sidecar
 * out (every agent a local process).
 */
export function agentEnvFrom(
  raw: unknown,
  rpcUrl: string | readonly string[],
  deployment: Deployment,
  o: { local?: boolean; agentImageDigest?: string } = { local: true },
): AgentEnv {
  const r = appConfigSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`);
    throw new ConfigError("BAD_APP_CONFIG", `the app config is invalid:\n  ${problems.join("\n  ")}`);
  }
  const c = r.data;
  if (c.agent.renewBeforeS >= c.service.slotSeconds)
    throw new ConfigError("BAD_APP_CONFIG", "agent.renewBeforeS must be shorter than service.slotSeconds");
  const urls = typeof rpcUrl === "string" ? [rpcUrl] : [...rpcUrl];
  return {
    rpcUrl: urls[0]!,
    ...(urls.length > 1 ? { rpcUrls: urls } : {}),
    deployment,
    dnsServers: c.discovery.dnsServers,
    domains: c.discovery.domains,
    learnDomains: c.discovery.learnDomains,
    seeds: c.discovery.seeds,
    registry: c.discovery.registry,
    p2p: c.p2p,
    altoUrl: c.network.altoUrl,
    spec: {
      imageRef: c.service.image,
      imageDigest: c.service.imageDigest,
      command: c.service.command,
      env: c.service.env,
      ports: c.service.ports,
      httpPorts: c.service.httpPorts,
      ...(c.service.name ? { service: c.service.name } : {}),
      cpuMillis: c.service.cpuMillis,
      memoryMiB: c.service.memoryMiB,
      slotSeconds: c.service.slotSeconds,
    },
    initialRegion: c.initialRegion,
    ...c.agent,
    chainConfirmations: c.agent.chainConfirmations ?? defaultChainConfirmations(deployment.chainId),
    ...(o.local ? {} : { sidecar: sidecarSpec(c.sidecar, o.agentImageDigest) }),
  };
}

/** The agent's confirmation depth when the config names none: 2, as a yard's; 0 on the automining dev chain. */
export function defaultChainConfirmations(chainId: number): number {
  return chainId === 31337 ? 0 : 2;
}

/** What the app config names of the agent: its image (and digest) and share. */
export type SidecarConfig = z.infer<typeof sidecarConfigSchema>;

/** The app config's `sidecar` section (validated) with `digest` filled in where the config leaves it out. */
function sidecarSpec(c: SidecarConfig, digest: string | undefined): SidecarSpec {
  const imageDigest = c.imageDigest ?? digest;
  if (!imageDigest || !/^0x[0-9a-f]{64}$/.test(imageDigest))
    throw new ConfigError(
      "BAD_APP_CONFIG",
      `the agent image ${c.image} has no digest: build it (bash scripts/images.sh) so the local Docker engine knows it, give sidecar.imageDigest in the app config, or deploy with --local`,
    );
  return { imageRef: c.image, imageDigest, command: [], cpuMillis: c.cpuMillis, memoryMiB: c.memoryMiB };
}

/** The app config's sidecar section as validated (defaults filled in), for `icon app deploy` to find the digest. */
export function sidecarConfigOf(raw: unknown): SidecarConfig | undefined {
  const r = appConfigSchema.safeParse(raw);
  return r.success ? r.data.sidecar : undefined;
}
