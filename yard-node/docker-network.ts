/**
 * The yard's container network in the Docker runtime (docker.ts composes this room): a bridge named
 * `icon-<yardId>` by default, created on demand with `enable_icc=false` (its containers cannot reach one another),
 * made again when it was removed behind the yard's back, refused when one of that name is configured otherwise.
 */
import type Docker from "dockerode";
import { isIPv4 } from "node:net";
import { IconError } from "../protocol/errors.ts";
import { LABEL_YARD, engineCall, statusOf } from "./docker-engine.ts";
import type { NetworkInfo } from "./runtime.ts";

/** What the network room uses of the runtime. */
export interface DockerNetworkComponents {
  docker: Docker;
  yardId: string;
  socketPath: string;
  /** The network's name. */
  network: string;
}

/** The yard's bridge network. */
export class DockerNetwork {
  readonly #c: DockerNetworkComponents;
  readonly network: string;
  #network: Promise<void> | undefined;

  constructor(components: DockerNetworkComponents) {
    this.#c = components;
    this.network = components.network;
  }

  /** Forgets that the network was made (it went away): the next {@link ensure} checks or creates it again. */
  forget(): void {
    this.#network = undefined;
  }

  /** Removes the yard's network (when no container uses it any more); no error when it is gone. */
  async remove(): Promise<void> {
    this.#network = undefined;
    try {
      await this.#call(`removing network ${this.network}`, () => this.#c.docker.getNetwork(this.network).remove());
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }

  /**
   * The yard's network (created when missing): name, the host's bridge interface (Docker's
   * `com.docker.network.bridge.name` option when set, else `br-` and the first 12 hex digits of the network id),
   * IPv4 subnet and gateway (the host's address on the bridge).
   */
  async info(): Promise<NetworkInfo> {
    for (let attempt = 0; ; attempt++) {
      await this.ensure();
      let raw: {
        Id: string;
        Options?: Record<string, string>;
        IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
      };
      try {
        raw = await this.#call(`inspecting network ${this.network}`, () =>
          this.#c.docker.getNetwork(this.network).inspect(),
        );
      } catch (e) {
        if (statusOf(e) !== 404 || attempt > 0) throw e;
        this.#network = undefined; // removed behind the yard's back: make it again
        continue;
      }
      const v4 = (raw.IPAM?.Config ?? []).find((c) => c.Subnet !== undefined && isIPv4(c.Subnet.split("/")[0]));
      if (!v4?.Subnet || !v4.Gateway || !isIPv4(v4.Gateway)) {
        throw new IconError(
          "NETWORK_MISCONFIGURED",
          `network ${this.network} has no IPv4 subnet and gateway (IPAM ${JSON.stringify(raw.IPAM?.Config ?? [])}); ` +
            `remove it (docker network rm ${this.network}) so that the yard creates it`,
          { details: { network: this.network } },
        );
      }
      const bridge = raw.Options?.["com.docker.network.bridge.name"] || `br-${raw.Id.slice(0, 12)}`;
      return { name: this.network, bridge, subnet: v4.Subnet, gateway: v4.Gateway };
    }
  }

  /** The network exists as the yard needs it (checked or created once; again after {@link forget}). */
  async ensure(): Promise<void> {
    this.#network ??= this.#createNetwork().catch((e: unknown) => {
      this.#network = undefined;
      throw e;
    });
    return this.#network;
  }

  async #createNetwork(): Promise<void> {
    const network = this.#c.docker.getNetwork(this.network);
    for (let attempt = 0; ; attempt++) {
      try {
        const info = (await this.#call(`inspecting network ${this.network}`, () => network.inspect())) as {
          Driver?: string;
          Options?: Record<string, string>;
        };
        if (info.Driver !== "bridge" || info.Options?.["com.docker.network.bridge.enable_icc"] !== "false") {
          throw new IconError(
            "NETWORK_MISCONFIGURED",
            `network ${this.network} exists but is not a bridge with enable_icc=false (driver ${info.Driver}); ` +
              `remove it (docker network rm ${this.network}) so that the yard creates it`,
            { details: { network: this.network } },
          );
        }
        return;
      } catch (e) {
        if (statusOf(e) !== 404 || attempt > 0) throw e;
      }
      try {
        await this.#call(`creating network ${this.network}`, () =>
          this.#c.docker.createNetwork({
            Name: this.network,
            Driver: "bridge",
            CheckDuplicate: true,
            Internal: false,
            Labels: { [LABEL_YARD]: this.#c.yardId },
            Options: { "com.docker.network.bridge.enable_icc": "false" },
          }),
        );
        return;
      } catch (e) {
        if (statusOf(e) !== 409) throw e; // 409: created meanwhile by someone else; check it on the next turn
      }
    }
  }

  #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    return engineCall(this.#c.socketPath, what, run);
  }
}
