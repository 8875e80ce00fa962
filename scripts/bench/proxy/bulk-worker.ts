/**
 * bench:proxy's bulk source and sink: a worker thread of the bench (its own event loop, so it never delays the
 * bench's process), sending a given number of bytes to a port and timing until the sink has them (`bulk`), or until
 * the far side closes after the source's end (`push`, into the sink container through two yards).
 */
import net from "node:net";
import { parentPort } from "node:worker_threads";

/** What the bench asks the worker: a transfer into its own sink, a push to a host:port, or its end. */
export type BulkCommand =
  | { cmd: "bulk"; port: number; bytes: number }
  | { cmd: "push"; host: string; port: number; bytes: number }
  | { cmd: "stop" };
/** A transfer's answer: bytes the sink received, wall time, the worker's CPU seconds; or what went wrong. */
export type BulkResult = { received: number; ms: number; cpuS: number } | { error: string };

export function bulkWorker(): void {
  const port = parentPort!;
  let want = 0;
  let done: ((received: number) => void) | undefined;
  const sink = net.createServer((s) => {
    let received = 0;
    s.on("data", (d: Buffer) => {
      received += d.byteLength;
      if (received >= want && done) {
        done(received);
        done = undefined;
      }
    });
    s.on("error", () => {});
  });
  sink.listen(0, "127.0.0.1", () => port.postMessage({ sinkPort: (sink.address() as net.AddressInfo).port }));
  const chunk = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  /** Sends `bytes` to host:port, ends its side and times until the far side has closed (it read everything). */
  const push = (m: { host: string; port: number; bytes: number }): void => {
    const s = net.connect(m.port, m.host);
    let t0 = 0;
    let c0: NodeJS.CpuUsage | undefined;
    let sent = 0;
    s.on("error", (e) => port.postMessage({ error: e.message }));
    s.on("data", () => {});
    s.once("close", (hadError) => {
      if (hadError) return;
      const ms = performance.now() - t0;
      const c = process.threadCpuUsage(c0);
      port.postMessage(
        sent === m.bytes
          ? { received: sent, ms, cpuS: (c.user + c.system) / 1e6 }
          : { error: `closed after ${sent} of ${m.bytes} bytes` },
      );
    });
    s.once("connect", async () => {
      t0 = performance.now();
      c0 = process.threadCpuUsage();
      while (sent < m.bytes && !s.destroyed) {
        const n = Math.min(chunk.length, m.bytes - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          await new Promise((r) => s.once("drain", r));
        }
      }
      s.end();
    });
  };
  port.on("message", (m: BulkCommand) => {
    if (m.cmd === "stop") {
      sink.close();
      port.close();
      return;
    }
    if (m.cmd === "push") {
      push(m);
      return;
    }
    want = m.bytes;
    const s = net.connect(m.port, "127.0.0.1");
    const finished = new Promise<number>((resolve) => (done = resolve));
    s.on("error", (e) => port.postMessage({ error: e.message }));
    s.once("connect", async () => {
      const t0 = performance.now();
      const c0 = process.threadCpuUsage();
      let sent = 0;
      while (sent < m.bytes) {
        const n = Math.min(chunk.length, m.bytes - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          await new Promise((r) => s.once("drain", r));
        }
      }
      // Timed to the sink's last byte with the connection still open, as in the runs BENCHMARKS.md records (the
      // Ingress carries a half-close since, so end() would work too).
      const received = await finished;
      const ms = performance.now() - t0;
      const c = process.threadCpuUsage(c0);
      s.destroy();
      port.postMessage({ received, ms, cpuS: (c.user + c.system) / 1e6 });
    });
  });
}
