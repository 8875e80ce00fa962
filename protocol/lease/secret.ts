/**
 * The agent sidecar's secret (the ICON's key and state) as it travels in a Deploy and waits in a yard's memory:
 * bytes that never turn into text by accident. `JSON.stringify`, `toJson`, `util.inspect` (so `console.log` and
 * the project's log lines) and `String()` all show `[secret: N bytes]`; only `bytes()` gives the content, and
 * `wipe()` overwrites it with zeros (a yard wipes it when the lease ends). The decoder copies the secret out of the
 * received frame and zeroes the bytes it read there (messages.ts); buffers below it (chunks the length-prefixed
 * reader joined into that frame, noise's and yamux's) are not wiped: protocol/PROTOCOL.md, "Agent sidecar".
 *
 * @example
 *   const secret = LeaseSecret.of(new TextEncoder().encode(keyAndState));
 *   await session.request({ type: "deploy", spec: { ...spec, agent: { ...agent, secret } } });
 *   secret.wipe();
 */
import { inspect } from "node:util";

export class LeaseSecret {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  #wiped = false;

  private constructor(bytes: Uint8Array<ArrayBuffer>) {
    this.#bytes = bytes;
  }

  /** A secret holding a copy of `bytes` (the caller may wipe its own). */
  static of(bytes: Uint8Array): LeaseSecret {
    return new LeaseSecret(Uint8Array.from(bytes));
  }

  /** Its length in bytes. */
  get length(): number {
    return this.#bytes.length;
  }

  /** Whether `wipe()` ran. */
  get wiped(): boolean {
    return this.#wiped;
  }

  /** The content itself (not a copy: do not keep it, do not change it). */
  bytes(): Uint8Array<ArrayBuffer> {
    return this.#bytes;
  }

  /** Overwrites the content with zeros; the secret is unusable afterwards. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#wiped = true;
  }

  toJSON(): string {
    return this.toString();
  }

  toString(): string {
    return `[secret: ${this.#bytes.length} bytes]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
