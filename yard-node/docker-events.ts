/**
 * The Docker runtime's event watch (docker.ts composes it): the engine's container events of this yard's
 * containers as RuntimeEvents, over a connection that is made again after the engine went away (100 ms doubling to
 * 5 s between attempts), telling the caller on every reconnection so that it reconciles what it may have missed.
 */
import type Docker from "dockerode";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { LABEL_LEASE, LABEL_ROLE, LABEL_YARD } from "./docker-engine.ts";
import type { RuntimeEvent } from "./runtime.ts";

const WATCH_BACKOFF_MIN_MS = 100;
const WATCH_BACKOFF_MAX_MS = 5000;

/** `watch()` options: the interface's, plus `onConnect`. */
export interface DockerWatchOptions {
  signal: AbortSignal;
  /** After every successful (re)connection but the first: events may have been missed, reconcile. */
  onReconnect?: () => void;
  /** After every successful connection, the first included: events from now on are delivered. */
  onConnect?: () => void;
}

/** Delivers the engine's events of yard `yardId`'s containers to `on` until `o.signal` aborts. */
export async function watchEngineEvents(
  docker: Docker,
  yardId: string,
  on: (e: RuntimeEvent) => void,
  o: DockerWatchOptions,
): Promise<void> {
  const { signal } = o;
  const filters = {
    label: [`${LABEL_YARD}=${yardId}`],
    type: ["container"],
    event: ["start", "die", "oom", "destroy"],
  };
  const options = { filters, abortSignal: signal } as Docker.GetEventsOptions & { abortSignal: AbortSignal };
  // Between attempts: 100 ms, doubling up to 5 s; back to 100 ms after a connection that lasted 5 s or more
  // (a stream the engine keeps dropping at once must not turn into a busy loop).
  let delay = WATCH_BACKOFF_MIN_MS;
  let connections = 0;
  const pause = async () => {
    await sleep(delay, undefined, { signal }).catch(() => undefined); // an abort ends the pause (and the loop)
    delay = Math.min(delay * 2, WATCH_BACKOFF_MAX_MS);
  };
  while (!signal.aborted) {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.getEvents(options);
    } catch {
      await pause(); // the engine is down or restarting
      continue;
    }
    connections++;
    if (connections > 1) callSafely(o.onReconnect);
    callSafely(o.onConnect);
    const since = Date.now();
    await pumpEvents(stream, signal, (event) => callSafely(() => on(event)));
    if (signal.aborted) return;
    if (Date.now() - since >= WATCH_BACKOFF_MAX_MS) delay = WATCH_BACKOFF_MIN_MS;
    await pause();
  }
}

/** One engine event as JSON; the fields `watch()` uses. */
interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The RuntimeEvent of one event line, or undefined for anything else. */
export function toRuntimeEvent(e: EngineEvent): RuntimeEvent | undefined {
  const action = e.Action ?? e.status;
  if (action !== "start" && action !== "die" && action !== "oom" && action !== "destroy") return undefined;
  const attributes = e.Actor?.Attributes ?? {};
  const lease = attributes[LABEL_LEASE];
  if (lease === undefined || !/^\d+$/.test(lease)) return undefined;
  const event: RuntimeEvent = {
    kind: action,
    leaseId: BigInt(lease),
    role: attributes[LABEL_ROLE] === "agent" ? "agent" : "service",
    containerId: e.Actor?.ID ?? e.id ?? "",
  };
  if (action === "die" && attributes.exitCode !== undefined) event.exitCode = Number(attributes.exitCode);
  return event;
}

/** Reads newline-delimited JSON events until the stream ends, fails or `signal` aborts. */
function pumpEvents(stream: NodeJS.ReadableStream, signal: AbortSignal, on: (e: RuntimeEvent) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let pending = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", finish);
      stream.removeListener("data", data);
      (stream as Readable).destroy?.();
      resolve();
    };
    const data = (chunk: Buffer | string) => {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === "") continue;
        let parsed: EngineEvent;
        try {
          parsed = JSON.parse(line) as EngineEvent;
        } catch {
          continue; // not an event
        }
        const event = toRuntimeEvent(parsed);
        if (event) on(event);
      }
    };
    stream.on("data", data);
    stream.once("end", finish);
    stream.once("close", finish);
    stream.once("error", finish);
    signal.addEventListener("abort", finish, { once: true });
    if (signal.aborted) finish();
  });
}

/** Calls `f`; an exception in a caller's callback is rethrown on its own (an uncaught exception, not ours). */
function callSafely(f: (() => void) | undefined): void {
  if (!f) return;
  try {
    f();
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}
