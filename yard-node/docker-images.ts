/**
 * The images of the Docker runtime (docker.ts composes this room): loading a tarball (the engine names what it
 * loaded; the yard never pulls from a registry), saving, naming an upload `icon-upload/<yardId>:<12 hex>`, and
 * removing — with `ifUntagged`, only an image no one but this yard named.
 */
import type Docker from "dockerode";
import { Readable } from "node:stream";
import { IconError } from "../protocol/errors.ts";
import { engineCall, engineMessage, imageNotFound, statusOf, wrapEngineError } from "./docker-engine.ts";

/** What the images room uses of the runtime. */
export interface DockerImagesComponents {
  docker: Docker;
  yardId: string;
  socketPath: string;
}

/** The engine's images, as one yard sees them. */
export class DockerImages {
  readonly #c: DockerImagesComponents;

  constructor(components: DockerImagesComponents) {
    this.#c = components;
  }

  /** The id of image `ref`, or undefined when the engine does not have it. */
  async imageId(ref: string): Promise<string | undefined> {
    try {
      const image = await this.#call(`inspecting image ${ref}`, () => this.#c.docker.getImage(ref).inspect());
      return image.Id;
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** Loads an image tarball; returns the ids of the images it held. */
  async loadImage(tar: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<string[]> {
    const input = tar instanceof Readable ? tar : Readable.from(tar as AsyncIterable<Uint8Array>);
    let inputError: unknown;
    input.once("error", (e) => (inputError = e));
    let output: NodeJS.ReadableStream;
    try {
      output = await this.#call("loading an image", () => this.#c.docker.loadImage(input, { quiet: true }));
    } catch (e) {
      if (inputError !== undefined) {
        throw new IconError("IMAGE_LOAD_FAILED", `reading the image tarball failed: ${String(inputError)}`, {
          cause: inputError,
        });
      }
      if (statusOf(e) === undefined) throw e;
      throw new IconError("IMAGE_LOAD_FAILED", `the engine refused the image tarball: ${engineMessage(e)}`, {
        details: { socket: this.#c.socketPath },
        cause: e,
      });
    }
    const lines: string[] = [];
    let text = "";
    try {
      for await (const chunk of output as AsyncIterable<Buffer | string>) text += chunk.toString();
    } catch (e) {
      throw wrapEngineError(e, "reading the answer to an image load", this.#c.socketPath);
    }
    const ids: string[] = [];
    for (const raw of text.split("\n")) {
      if (raw.trim() === "") continue;
      let message: { stream?: string; error?: string; errorDetail?: { message?: string } };
      try {
        message = JSON.parse(raw) as typeof message;
      } catch {
        lines.push(raw);
        continue;
      }
      if (message.error !== undefined || message.errorDetail !== undefined) {
        throw new IconError(
          "IMAGE_LOAD_FAILED",
          `the engine refused the image tarball: ${message.errorDetail?.message ?? message.error}`,
          { details: { socket: this.#c.socketPath } },
        );
      }
      // One message may report several images, one per line.
      for (const raw of (message.stream ?? "").split("\n")) {
        const line = raw.trim();
        if (!line) continue;
        lines.push(line);
        const byId = /^Loaded image ID: (sha256:[0-9a-f]{64})$/.exec(line);
        const byRef = /^Loaded image: (\S+)$/.exec(line);
        if (byId) ids.push(byId[1]);
        else if (byRef) {
          const id = await this.imageId(byRef[1]);
          if (id === undefined) {
            throw new IconError("IMAGE_LOAD_FAILED", `the engine loaded ${byRef[1]} but does not know it afterwards`);
          }
          ids.push(id);
        }
      }
    }
    if (ids.length === 0) {
      throw new IconError(
        "IMAGE_LOAD_FAILED",
        `the engine loaded no image from the tarball (it said: ${JSON.stringify(lines.join(" | "))})`,
        { details: { socket: this.#c.socketPath } },
      );
    }
    return [...new Set(ids)];
  }

  /** The tarball of image `ref`. */
  async saveImage(ref: string): Promise<NodeJS.ReadableStream> {
    if ((await this.imageId(ref)) === undefined) throw imageNotFound(ref);
    return this.#call(`saving image ${ref}`, () => this.#c.docker.getImage(ref).get());
  }

  /** The name this yard gives an image it loaded: `icon-upload/<yardId>:<the first 12 hex digits of its id>`. */
  uploadName(id: string): string {
    return `icon-upload/${this.#c.yardId}:${id.replace(/^sha256:/, "").slice(0, 12)}`;
  }

  async nameImage(id: string): Promise<string> {
    const name = this.uploadName(id);
    const at = name.lastIndexOf(":");
    await this.#call(`naming image ${id}`, () =>
      this.#c.docker.getImage(id).tag({ repo: name.slice(0, at), tag: name.slice(at + 1) }),
    );
    return name;
  }

  /** Removes image `ref` (see ContainerRuntime.removeImage); no error when it is gone. */
  async removeImage(ref: string, o: { ifUntagged?: boolean } = {}): Promise<void> {
    try {
      if (o.ifUntagged) {
        const tags = (await this.#call(`inspecting image ${ref}`, () => this.#c.docker.getImage(ref).inspect()))
          .RepoTags;
        const own = `icon-upload/${this.#c.yardId}:`;
        const others = (tags ?? []).filter((t) => !t.startsWith(own));
        if (others.length > 0)
          throw new IconError("IMAGE_TAGGED", `image ${ref} is named ${others.join(", ")}; it is left in place`);
        // The yard's own name goes first (removing the last name of an unused image removes the image too).
        for (const t of tags ?? []) await this.#call(`removing name ${t}`, () => this.#c.docker.getImage(t).remove());
      }
      await this.#call(`removing image ${ref}`, () => this.#c.docker.getImage(ref).remove());
    } catch (e) {
      if (statusOf(e) === 404) return;
      if (statusOf(e) === 409) {
        throw new IconError("IMAGE_IN_USE", `image ${ref} is used by a container: ${engineMessage(e)}`, { cause: e });
      }
      throw e;
    }
  }

  #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return engineCall(this.#c.socketPath, what, run);
  }
}
