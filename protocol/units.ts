/**
 * Money is exact: amounts are bigint token units everywhere; only text shown to or typed by people uses
 * the token's decimals.
 */
import { formatUnits, parseUnits } from "ethers";
import { ConfigError } from "./errors.ts";

/** Token metadata needed to show amounts. */
export interface TokenInfo {
  symbol: string;
  decimals: number;
}

/** Formats integer `units` with the token's decimals and symbol, e.g. `12.5 iUSD`. */
export function formatAmount(units: bigint, token: TokenInfo): string {
  let text = formatUnits(units, token.decimals);
  if (text.endsWith(".0")) text = text.slice(0, -2);
  return `${text} ${token.symbol}`;
}

/** Parses a human amount ("12.5", "12.5 iUSD") into integer units; refuses more decimals than the token has. */
export function parseAmount(text: string, token: TokenInfo, field = "amount"): bigint {
  const raw = text.trim().replace(new RegExp(`\\s*${token.symbol}$`, "i"), "");
  if (!/^\d+(\.\d+)?$/.test(raw)) {
    throw new ConfigError("BAD_AMOUNT", `${field} "${text}" is not a positive decimal number (e.g. 12.5)`);
  }
  const frac = raw.split(".")[1] ?? "";
  if (frac.length > token.decimals) {
    throw new ConfigError(
      "BAD_AMOUNT",
      `${field} "${text}" has ${frac.length} decimals but ${token.symbol} has only ${token.decimals}`,
    );
  }
  return parseUnits(raw, token.decimals);
}

/** `units` as a floating-point number of tokens, for plots and rates only (never for money). */
export function toTokens(units: bigint, token: TokenInfo): number {
  return Number(formatUnits(units, token.decimals));
}
