/**
 * Base error of the project: a stable `code`, a short sentence for people, details and `cause`.
 * Codes are one closed vocabulary: the project's own (ERROR_CODES, SCREAMING_SNAKE) and the custom errors of the
 * contracts (their Solidity names, decoded from revert data by chain/errors.ts). A misspelt code does not compile.
 * Catch with `isIconError(e, "CHAIN_UNREACHABLE")` (or a list of codes); never cast to read `.code`.
 *
 * @example
 *   try { await chain.call(); } catch (e) { if (isIconError(e, ["CHAIN_UNREACHABLE", "CHAIN_TIMEOUT"])) retryLater(); else throw e; }
 */
import type { accessManagerAbi, iconMarketAbi, iepRegistryAbi, testTokenAbi } from "./chain/abi.generated.ts";

/** The project's own error codes. */
export const ERROR_CODES = [
  "AGENT_EXITED",
  "AGENT_RUNNING",
  "ALTO_FAILED",
  "ALTO_UNREACHABLE",
  "APP_CLOSED",
  "BAD_ADDRESS",
  "BAD_ALLOWED",
  "BAD_ALTO_MAP",
  "BAD_AMOUNT",
  "BAD_APP_CONFIG",
  "BAD_BINDING",
  "BAD_CONFIG",
  "BAD_CONTAINER_SPEC",
  "BAD_DEPLOYMENT",
  "BAD_DEVICE",
  "BAD_DNS_OPTION",
  "BAD_DNS_OPTIONS",
  "BAD_DNS_SERVER",
  "BAD_DNS_UPSTREAM",
  "BAD_DOMAIN",
  "BAD_FEE",
  "BAD_GATEWAY_ANSWER",
  "BAD_ID",
  "BAD_KEYSTORE",
  "BAD_LOAD_CONFIG",
  "BAD_LOG_WINDOW",
  "BAD_NAMESPACE_RULE",
  "BAD_OPTION",
  "BAD_PEER_ID",
  "BAD_PEER_KEY",
  "BAD_PORT",
  "BAD_PRIVATE_KEY",
  "BAD_RPC_URL",
  "BAD_SEALED_STATE",
  "BAD_SEMANTIC_NAME",
  "BAD_SERVICE_NAME",
  "BAD_SRV_FIELD",
  "BAD_TOPOLOGY",
  "BAD_TREE_OPTIONS",
  "BAD_VIRTUAL_CIDR",
  "BAD_YARD_ID",
  "CHAIN_FAILED",
  "CHAIN_TIMEOUT",
  "CHAIN_UNREACHABLE",
  "CONFIG_UNREADABLE",
  "CONTAINER_EXISTS",
  "CONTAINER_FOREIGN",
  "CONTAINER_NOT_FOUND",
  "CONTAINER_SPEC_REJECTED",
  "DENIED",
  "DEV_ACCOUNT_REFUSED",
  "DIAL_NEEDS_PEER",
  "DNS_FAILED",
  "DNS_LISTENING",
  "DNS_LISTEN_FAILED",
  "DNS_UNREACHABLE",
  "DOCKER_ERROR",
  "DOCKER_UNREACHABLE",
  "EXPIRED",
  "FEE_ABOVE_CAP",
  "HANDED_OVER",
  "HANDOVER_FAILED",
  "HANDOVER_UNKNOWN",
  "GATEWAY_REFUSED",
  "GATEWAY_UNREACHABLE",
  "HOST_FIREWALL_FAILED",
  "HTTP_LISTEN",
  "IMAGE_CHANGED",
  "IMAGE_IN_USE",
  "IMAGE_LOAD_FAILED",
  "IMAGE_NOT_FOUND",
  "IMAGE_TAGGED",
  "KEYSTORE_EXISTS",
  "LOG_RANGE_REFUSED",
  "MISSING_ARGUMENT",
  "MISSING_OPTION",
  "NETBED_CLOSED",
  "NETBED_FAILED",
  "NETNS_LISTEN_FAILED",
  "NETWORK_MISCONFIGURED",
  "NONCE_EXPIRED",
  "NOT_A_TOKEN",
  "NOT_CONTROLLER",
  "NOT_PLACED",
  "NOT_READY",
  "NOT_REGISTERED",
  "NOT_ROOT",
  "NOT_STAKED",
  "NO_BRIDGE",
  "NO_DEPLOYMENT",
  "NO_EVENT",
  "NO_GAS",
  "NO_KEY",
  "NO_KEYSTORE",
  "NO_PASSWORD",
  "NO_PROVIDER",
  "NO_ROUTE",
  "NO_SIGNER",
  "NO_STATE",
  "NO_TUNNELS",
  "ORIGIN_STAYS",
  "PEER_MISMATCH",
  "REDEPLOY_FAILED",
  "RELAY_GAS_TOO_HIGH",
  "RETIRED",
  "REVERTED",
  "SETUP_FAILED",
  "STATE_EXISTS",
  "TOKEN_MOVE_REVERTS",
  "TOKEN_NOT_EXACT",
  "TOKEN_PROBE_UNFUNDED",
  "TOO_LONG",
  "TUNNEL_BAD_HEADER",
  "TUNNEL_CLOSED",
  "TUNNEL_CONFIG",
  "TUNNEL_PROTOCOL",
  "TUNNEL_REFUSED",
  "TUNNEL_TIMEOUT",
  "TUNNEL_UNREACHABLE",
  "TX_REPLACED",
  "UNKNOWN_NETWORK",
  "UNKNOWN_NODE",
  "UNKNOWN_POLICY",
  "VIRTUAL_IPS_CLOSED",
  "VIRTUAL_IPS_EXHAUSTED",
  "VIRTUAL_IP_FAILED",
  "WEAK_PASSWORD",
  "WRONG_CHAIN",
  "WRONG_DOMAIN",
  "WRONG_MARKET",
  "WRONG_PEER",
  "YARD_UNKNOWN_LEASE",
  "YARD_UNREACHABLE",
] as const;

type ErrorsOf<Abi extends readonly { type: string }[]> = Extract<Abi[number], { type: "error"; name: string }>["name"];

/** The contracts' custom errors (and the token's), by their Solidity names. */
export type ContractErrorCode =
  | ErrorsOf<typeof iepRegistryAbi>
  | ErrorsOf<typeof iconMarketAbi>
  | ErrorsOf<typeof testTokenAbi>
  | ErrorsOf<typeof accessManagerAbi>;

/**
 * Codes that carry a wire enum's value name (a refusal received from a peer): "PROTOCOL_<RejectCode>" and
 * "REJECTED_<RejectCode>" (lease negotiation), "OVERLAY_<OverlayErrorCode>", "YARD_<YardErrorCode>", "RELAY_<RelayErrorCode>", "PROBE_<ProbeErrorCode>" and the tree's
 * own "TREE_…" names; the suffix is the generated enum's member name (protocol/schema/*.proto), or its number when a
 * newer peer sent a value this build does not know.
 */
export type WireErrorCode = `${"PROTOCOL" | "REJECTED" | "OVERLAY" | "YARD" | "RELAY" | "PROBE" | "TREE"}_${string}`;

export type ErrorCode = (typeof ERROR_CODES)[number] | ContractErrorCode | WireErrorCode;

export class IconError extends Error {
  override name = "IconError";
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** A chain call was refused (custom error decoded) or the chain could not be reached. */
export class ChainError extends IconError {
  override name = "ChainError" as const;
}

/** Input or configuration is invalid; the message names the field and the fix. */
export class ConfigError extends IconError {
  override name = "ConfigError" as const;
}

/**
 * A peer's free text (a yard's sentence) made safe to print and to write into a file a person reads: control and
 * format characters (escape sequences, carriage returns, bidi overrides) become spaces, and it is clipped.
 */
export function printable(text: string, maxChars = 1000): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, " ");
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}

/** Type guard for any project error, or (with `code`) for one with that code or one of those codes. */
export function isIconError(e: unknown, code?: ErrorCode | readonly ErrorCode[]): e is IconError {
  if (!(e instanceof IconError)) return false;
  if (code === undefined) return true;
  return typeof code === "string" ? e.code === code : code.includes(e.code);
}
