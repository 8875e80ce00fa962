/**
 * `icon agent run`: one ICON run from its state directory; and the agent as a process of its own (started
 * detached with its log in the state directory, as `icon app deploy` and a parent making replicas do), with the
 * wait until an origin is placed.
 */
import { ConfigError, IconError, isIconError } from "../../protocol/errors.ts";
import { fromJson } from "../../protocol/json.ts";
import { out, say, untilSignal } from "./io.ts";
import { command, opt, type Command } from "./options.ts";

export const agentCommands: Record<string, Command> = {
  "agent run": command({
    usage: "agent run --state <dir> [--state-from-stdin] [--hand-over] [--take-back]",
    summary:
      "run one ICON from its state directory (written by `icon app deploy`, or by a parent for a replica): with ICON_GATEWAY set (a yard's agent sidecar) it reaches the chain, libp2p, DNS and ALTO only through that gateway; it resumes its place in the tree and its lease from the chain; replicas it makes run as their own `icon agent run` processes; Ctrl-C stops it and leaves its lease running. --state-from-stdin: when the directory holds no ICON yet, first read the ICON's sealed state from standard input into it (an agent sidecar: the yard writes the lease's agent secret there). --hand-over: once placed, stop deciding and hand the ICON into its lease's sidecar (sidecar placement; `icon app deploy` does this for the origin), then exit. A directory whose ICON was handed over is refused unless --take-back: the sidecar is stopped (a Deploy of the lease without the agent) and this copy acts again",
    options: {
      state: opt.required("--state <dir> is required (see `icon app deploy`)"),
      "state-from-stdin": opt.flag(),
      "hand-over": opt.flag(),
      "take-back": opt.flag(),
    },
    async run(_ctx, o) {
      const dir = o.state;
      const { existsSync } = await import("node:fs");
      const path = await import("node:path");
      if (o["state-from-stdin"] && !existsSync(path.join(dir, "agent.json"))) {
        const { unsealAgentState, SEALED_STATE_MAX_BYTES } = await import("../../icon-agent/index.ts");
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > SEALED_STATE_MAX_BYTES)
            throw new ConfigError(
              "BAD_SEALED_STATE",
              `standard input carries more than ${SEALED_STATE_MAX_BYTES} bytes`,
            );
          chunks.push(chunk);
        }
        const sealed = Buffer.concat(chunks);
        if (sealed.length > 0) await unsealAgentState(sealed, dir);
        sealed.fill(0);
        for (const c of chunks) c.fill(0);
      }
      if (!existsSync(path.join(dir, "agent.json")))
        throw new ConfigError(
          "NO_STATE",
          `${dir} holds no ICON (no agent.json in it): give the directory \`icon app deploy --state\` wrote, or the one a parent wrote for its replica`,
        );
      const {
        Agent,
        handedOver,
        handOverSelf,
        placedOrDone,
        readAgentState,
        resolveHandingOver,
        retiredNote,
        takeBack,
      } = await import("../../icon-agent/index.ts");
      // Unsealed from standard input or given the yard's gateway: this agent runs in its lease's sidecar.
      const { AGENT_GATEWAY_ENV } = await import("../../protocol/yard/gateway.ts");
      const inSidecar = o["state-from-stdin"] || process.env[AGENT_GATEWAY_ENV] !== undefined;
      // Set by a yard in the agent sidecar it runs: the agent then reaches everything through that gateway.
      const gateway = process.env[AGENT_GATEWAY_ENV] || undefined;
      // A copy whose ICON moved on (a migration handed it to another lease's sidecar) never acts beside its
      // successor. In its sidecar it stays up, retired (an exit would spend its yard's restarts): it makes sure
      // the successor runs (the hand-over sent again, retried until the new yard answers, then checked
      // periodically) until its lease ends; elsewhere it checks once. Either way one line, exit 0, no act — unless
      // no successor runs, proven: then it acts again (icon-agent/pair.ts settleRetired, stayRetired).
      const saved = (await readAgentState(dir)).seed;
      const retired = retiredNote(saved);
      if (retired) {
        let settled: string | undefined = "retired";
        if (saved.retired?.moving) {
          const hooks = { spawn: async () => {}, onEvent: (e: { text: string }) => say(e.text) };
          const copy = await Agent.open(dir, hooks, { gateway, retired: true });
          let stopping: Promise<void> | undefined;
          const halt = () => (stopping ??= copy.stop());
          signalled().addEventListener("abort", () => void halt(), { once: true });
          settled = await (inSidecar ? copy.stayRetired() : copy.settleRetired()).finally(halt);
        }
        if (settled !== "acting") {
          out(retired);
          return;
        }
      }
      const mark = await handedOver(dir);
      if (mark && !mark.handingOver && !o["take-back"])
        throw new ConfigError(
          "HANDED_OVER",
          `the ICON in ${dir} was handed into the sidecar of lease ${mark.leaseId} at ${mark.yard} (instance ${mark.instance}); it runs there and this copy must not act beside it: give --take-back to stop the sidecar and run it here again`,
        );
      const { installLastResort } = await import("../../protocol/index.ts");
      const { createLogger } = await import("../../protocol/log.ts");
      installLastResort({ log: createLogger({ level: "warn" }), what: `agent in ${dir}` });
      const agent = await Agent.open(
        dir,
        {
          spawn: async (childDir) => {
            const { pid, log } = await startAgentProcess(childDir, "replica");
            say(`replica started in ${childDir} (pid ${pid}, log ${log})`);
          },
          onEvent: (e) => out(`${new Date().toISOString()} ${e.icon} ${e.kind}: ${e.text}`),
          inSidecar,
          // Its yard restarts the sidecar from the state it now holds (instance e+2, un-retired).
          actAgain: () => void process.kill(process.pid, "SIGTERM"),
        },
        { gateway },
      );
      if (mark?.handingOver && !o["take-back"]) {
        // A hand-over whose outcome is not known (a crash, a lost answer): settled before this copy decides anything.
        const r = await resolveHandingOver(agent, mark).catch(async (e: unknown) => {
          await agent.stop();
          throw e;
        });
        if (r === "handed-over") {
          out(
            `ICON ${agent.name} runs in the sidecar of lease ${mark.leaseId} at ${mark.yard} (instance ${mark.instance}): the hand-over under way went through; this copy does not act`,
          );
          await agent.stop();
          return;
        }
        say(`the hand-over into lease ${mark.leaseId} at ${mark.yard} did not go through: this copy acts again`);
      } else if (mark) {
        // --take-back: the sidecar stops before this copy takes a single decision.
        const r = await takeBack(agent).catch(async (e: unknown) => {
          await agent.stop();
          throw e;
        });
        say(`took the ICON back from lease ${mark.leaseId} at ${mark.yard}: ${r}`);
      }
      await agent.start();
      if (o["hand-over"] && !agent.seed.done) {
        const { rm } = await import("node:fs/promises");
        const { writeAtomic } = await import("../../icon-agent/index.ts");
        const failed = path.join(dir, "handover.error");
        await rm(failed, { force: true });
        const placed = await placedOrDone(agent, AbortSignal.any([AbortSignal.timeout(600_000), signalled()]));
        if (placed) {
          try {
            const h = await handOverSelf(agent);
            out(
              `ICON ${agent.name} handed into the sidecar of lease ${h.leaseId} at ${h.yard} (instance ${h.instance}); clients reach it at ${h.endpoint}; this agent stops`,
            );
            await agent.stop();
            return;
          } catch (e) {
            // The agent goes on acting here; whoever waits for the hand-over (icon app deploy) reads why.
            await writeAtomic(failed, (e as Error).message);
            if (isIconError(e, "HANDOVER_UNKNOWN")) {
              // The sidecar may run the ICON: this copy must not act beside it (the mark makes the next start settle it).
              await agent.stop();
              throw e;
            }
            say(`hand-over failed, the ICON goes on running here: ${(e as Error).message}`);
          }
        }
      }
      if (agent.seed.done) {
        out(`ICON ${agent.name} (account ${agent.seed.account}) has terminated; nothing to run`);
        await agent.stop();
        return;
      }
      out(`ICON ${agent.name} (account ${agent.seed.account}) running; peer ${agent.addrs.join(", ")}`);
      if (await untilSignal(agent.finished))
        out(`ICON ${agent.name} terminated itself; its budget went back to its parent`);
      else say(`stopping ICON ${agent.name} (its lease keeps running; the next start resumes it) …`);
      await agent.stop();
    },
  }),
};

/**
 * Starts `agent run --state <dir>` as a process of its own (detached, output to <dir>/agent.log) with the same Node,
 * V8 flags and entry as this process: `icon` (scripts/cli/icon.ts or its .build/ copy) on a host, the agent image's
 * entry (scripts/cli/agent-main.ts) in a container, where neither scripts/icon nor the project is.
 */
export async function startAgentProcess(
  dir: string,
  what: string,
  args: string[] = [],
): Promise<{ pid: number; log: string }> {
  const { spawn } = await import("node:child_process");
  const { closeSync, openSync } = await import("node:fs");
  const path = await import("node:path");
  const logFile = path.join(dir, "agent.log");
  const log = openSync(logFile, "a");
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1]!, "agent", "run", "--state", dir, ...args],
    {
      detached: true,
      stdio: ["ignore", log, log],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (e) => reject(new Error(`cannot start the ${what}'s agent: ${e.message}`, { cause: e })));
  }).finally(() => closeSync(log));
  child.unref();
  return { pid: child.pid!, log: logFile };
}

/**
 * Waits until the agent in `dir` (process `pid`) has placed its ICON (its status.json names a lease), printing
 * progress; throws with the end of its log if the process ends first or `waitS` passes.
 */
export async function waitPlaced(
  dir: string,
  pid: number,
  waitS: number,
): Promise<{ yard: string; endpoint: string; lease: string }> {
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const logTail = async (): Promise<string> =>
    (await readFile(path.join(dir, "agent.log"), "utf8").catch(() => "")).trimEnd().split("\n").slice(-8).join("\n  ");
  const started = Date.now();
  let shown = 0;
  for (;;) {
    const st = await readFile(path.join(dir, "status.json"), "utf8").then(
      (t) => fromJson<{ placement?: { leaseId?: bigint; endpoint?: string; yard?: { name?: string } } }>(t),
      () => undefined,
    );
    const p = st?.placement;
    if (p?.leaseId && p.endpoint)
      return { yard: p.yard?.name ?? "?", endpoint: p.endpoint, lease: p.leaseId.toString() };
    if (!alive())
      throw new IconError(
        "AGENT_EXITED",
        `the origin's agent (pid ${pid}) ended before it was placed:\n  ${await logTail()}`,
      );
    const waited = Math.floor((Date.now() - started) / 1000);
    if (waited >= waitS)
      throw new IconError(
        "NOT_PLACED",
        `the origin's agent (pid ${pid}) runs but found no lease within ${waitS} s; it keeps trying (log ${path.join(dir, "agent.log")}):\n  ${await logTail()}`,
      );
    if (waited >= shown + 10) {
      shown = waited;
      say(`… ${waited} s: the origin ICON is looking for a yard`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Aborts on the first SIGINT or SIGTERM (waiting for the placement ends there, the agent stops as usual). */
function signalled(): AbortSignal {
  const c = new AbortController();
  void untilSignal().then(() => c.abort());
  return c.signal;
}

/**
 * Waits until the origin's agent in `dir` (process `pid`, started with --hand-over) has handed the ICON into its
 * lease's sidecar (`dir` is marked handed over) and ended; throws HANDOVER_FAILED with the agent's reason (it goes
 * on acting locally) or AGENT_EXITED / NOT_PLACED like waitPlaced.
 */
export async function waitHandedOver(
  dir: string,
  pid: number,
  waitS: number,
): Promise<{ leaseId: bigint; yard: string; endpoint: string; instance: number }> {
  const { readFile } = await import("node:fs/promises");
  const path = await import("node:path");
  const { handedOver } = await import("../../icon-agent/index.ts");
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const started = Date.now();
  for (;;) {
    const mark = await handedOver(dir);
    // Handed over and its process gone: nothing of the owner's runs the ICON any more.
    if (mark && !alive()) return mark;
    const why = await readFile(path.join(dir, "handover.error"), "utf8").catch(() => undefined);
    if (why !== undefined)
      throw new IconError(
        "HANDOVER_FAILED",
        `${why.trim()}; the origin's agent (pid ${pid}) goes on running it here (log ${path.join(dir, "agent.log")})`,
      );
    if (!mark && !alive())
      throw new IconError(
        "AGENT_EXITED",
        `the origin's agent (pid ${pid}) ended before it handed the ICON over:\n  ${(await readFile(path.join(dir, "agent.log"), "utf8").catch(() => "")).trimEnd().split("\n").slice(-8).join("\n  ")}`,
      );
    if (Date.now() - started > waitS * 1000)
      throw new IconError(
        "NOT_PLACED",
        `the origin's agent (pid ${pid}) did not hand the ICON over within ${waitS} s; it keeps running (log ${path.join(dir, "agent.log")})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
