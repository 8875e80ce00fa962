/**
 * What every room of the Docker runtime shares (docker.ts composes them): the labels that mark a yard's containers
 * and network, engine calls that turn "cannot reach the engine" into DOCKER_UNREACHABLE and an engine refusal into
 * DOCKER_ERROR (status and the engine's own words kept), and the errors built from them.
 */
import { IconError } from "../protocol/errors.ts";

export const LABEL_YARD = "icon.yard";
export const LABEL_LEASE = "icon.lease";
/** `service` or `agent` (runtime.ts, ContainerRole); a container without it is a service. */
export const LABEL_ROLE = "icon.role";

/** Runs one engine call, turning "cannot reach the engine" into DOCKER_UNREACHABLE (the engine at `socketPath`). */
export async function engineCall<T>(socketPath: string, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw wrapEngineError(e, what, socketPath);
  }
}

/** An engine failure as an IconError: DOCKER_ERROR when the engine answered, DOCKER_UNREACHABLE when it did not. */
export function wrapEngineError(e: unknown, what: string, socketPath: string): unknown {
  if (e instanceof IconError) return e;
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === "number") {
    // The engine answered with an error; `statusOf`/`engineMessage` read the status and its message back.
    const message = rawEngineMessage(e);
    return new IconError("DOCKER_ERROR", `the Docker engine refused ${what}: ${message} (HTTP ${status})`, {
      details: { socket: socketPath, status, message },
      cause: e,
    });
  }
  const code = (e as NodeJS.ErrnoException).code;
  const name = (e as Error).name;
  const why =
    code === "ENOENT"
      ? "the socket does not exist"
      : code === "ECONNREFUSED"
        ? "nothing listens on the socket"
        : code === "EACCES"
          ? "permission denied (run as root, or as a member of the socket's group)"
          : name === "TimeoutError" || name === "AbortError"
            ? "no answer in time"
            : (code ?? (e as Error).message ?? String(e));
  return new IconError(
    "DOCKER_UNREACHABLE",
    `the Docker engine at unix://${socketPath} could not be reached while ${what}: ${why}; ` +
      "start the project's engine with `npm run docker start` (or `bash scripts/docker.sh start`), " +
      "or point ICON_DOCKER_SOCKET at a running engine",
    { details: { socket: socketPath, code: code ?? null }, cause: e },
  );
}

/** The HTTP status of an engine error (DOCKER_ERROR), or undefined. */
export function statusOf(e: unknown): number | undefined {
  const status = e instanceof IconError && e.code === "DOCKER_ERROR" ? e.details.status : undefined;
  return typeof status === "number" ? status : undefined;
}

/** The engine's own words in a DOCKER_ERROR. */
export function engineMessage(e: unknown): string {
  return e instanceof IconError && typeof e.details.message === "string" ? e.details.message : String(e);
}

/** The engine's message in a dockerode error ("No such image: …"), without dockerode's prefix. */
function rawEngineMessage(e: unknown): string {
  const json = (e as { json?: unknown }).json;
  if (json && typeof json === "object" && typeof (json as { message?: unknown }).message === "string") {
    return (json as { message: string }).message;
  }
  if (typeof json === "string" && json.trim() !== "") return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString("utf8").trim();
  return (e as Error).message ?? String(e);
}

/** IMAGE_NOT_FOUND: the yard never pulls, so the image must be loaded first. */
export function imageNotFound(ref: string, cause?: unknown): IconError {
  return new IconError(
    "IMAGE_NOT_FOUND",
    `image ${ref} is not in the engine; load it first (the yard never pulls from a registry)`,
    { details: { image: ref }, cause },
  );
}

/** CONTAINER_NOT_FOUND of container `id`. */
export function containerNotFound(id: string, cause?: unknown): IconError {
  return new IconError("CONTAINER_NOT_FOUND", `no container ${id}`, { details: { id }, cause });
}

/** CONTAINER_NOT_FOUND when the engine answered 404, else `e` itself. */
export function notFoundOr(e: unknown, id: string): unknown {
  return statusOf(e) === 404 ? containerNotFound(id, e) : e;
}
