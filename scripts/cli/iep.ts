/**
 * `icon iep …`: an edge provider's side of the registry — its listing, the DNS records that make its yard
 * discoverable, its stake (bond, unbond, withdraw) and its claimed earnings.
 */
import type { Listing } from "../../protocol/index.ts";
import { addressArg, client, need, out } from "./context.ts";
import { command, opt, type Command } from "./options.ts";

export const iepCommands: Record<string, Command> = {
  "iep register": command({
    usage:
      "iep register --peer-id <hex> --multiaddr <ma> [--multiaddr …] --cpu <millicores> --memory <MiB> [--domain <d>] [--region <r>] [--cpu-price <amount/core/s>] [--memory-price <amount/GiB/s>]",
    summary: "register or update your yard's listing",
    options: {
      "peer-id": opt.string(),
      multiaddr: opt.list(),
      cpu: opt.int("--cpu"),
      memory: opt.int("--memory"),
      domain: opt.string(),
      region: opt.string(),
      "cpu-price": opt.string(),
      "memory-price": opt.string(),
    },
    refine(o, fail) {
      if (!o["peer-id"] || !/^0x([0-9a-fA-F]{2}){1,64}$/.test(o["peer-id"]))
        fail("--peer-id must be the yard's libp2p peer id as 0x-hex multihash bytes (1..64 bytes)");
      else if ((o.multiaddr ?? []).length === 0)
        fail("give at least one --multiaddr, e.g. --multiaddr /ip4/203.0.113.7/tcp/4001");
      else if (!o.cpu) fail("--cpu (millicores offered, e.g. 4000) is required and must be > 0");
      else if (!o.memory) fail("--memory (MiB offered, e.g. 8192) is required and must be > 0");
    },
    async run(ctx, o) {
      const c = await client(ctx, true);
      const listing: Listing = {
        peerId: o["peer-id"]!,
        multiaddrs: o.multiaddr!,
        domain: o.domain ?? "",
        region: o.region ?? "",
        cpuMillis: o.cpu!,
        memoryMiB: o.memory!,
        cpuPricePerSecond: o["cpu-price"] ? c.parse(o["cpu-price"], "--cpu-price") : 0n,
        memoryPricePerSecond: o["memory-price"] ? c.parse(o["memory-price"], "--memory-price") : 0n,
      };
      await c.register(listing);
      out(`listed ${await c.address()}`);
    },
  }),
  "iep zone": command({
    usage:
      "iep zone --domain <domain> --host <yard host name> --port <libp2p tcp port> --peer-id <12D3KooW… | 0x…> [--address <ip> …] [--ttl 300]",
    summary: "print the DNS records (SRV, TXT, A/AAAA) to publish so agents discover your yard",
    options: {
      domain: opt.string(),
      host: opt.string(),
      port: opt.int("--port", 65535),
      "peer-id": opt.string(),
      address: opt.list(),
      ttl: opt.int("--ttl"),
    },
    async run(_ctx, o) {
      const { zoneRecords } = await import("../../protocol/index.ts");
      const lines = zoneRecords({
        domain: o.domain ?? "",
        host: o.host ?? "",
        port: o.port ?? 0,
        peerId: o["peer-id"] ?? "",
        ttl: o.ttl ?? 300,
        addresses: o.address ?? [],
      });
      for (const l of lines) out(l);
    },
  }),
  "iep stake": command({
    usage: "iep stake <amount>",
    summary: "add stake (in tokens, e.g. 250 or 12.5)",
    async run(ctx) {
      const c = await client(ctx, true);
      const amount = c.parse(need(ctx, 0, "amount", this.usage));
      await c.stake(amount);
      out(`staked ${c.format(amount)}`);
    },
  }),
  "iep unstake": command({
    usage: "iep unstake <amount>",
    summary: "start unbonding stake; withdraw it after the unbonding period",
    async run(ctx) {
      const c = await client(ctx, true);
      const amount = c.parse(need(ctx, 0, "amount", this.usage));
      await c.requestUnstake(amount);
      const s = await c.providerStatus(await c.address());
      out(`unbonding ${c.format(s.unbonding)}; withdrawable from ${new Date(Number(s.readyAt) * 1000).toISOString()}`);
    },
  }),
  "iep withdraw": command({
    usage: "iep withdraw [--to <address>]",
    summary: "withdraw stake whose unbonding period is over",
    options: { to: opt.address("--to") },
    async run(ctx, o) {
      const c = await client(ctx, true);
      const me = await c.address();
      const to = o.to ?? me;
      const before = (await c.providerStatus(me)).unbonding;
      await c.withdrawStake(to);
      out(`withdrew ${c.format(before)} to ${to}`);
    },
  }),
  "iep earnings": command({
    usage: "iep earnings [--to <address>]",
    summary: "withdraw claimed lease earnings",
    options: { to: opt.address("--to") },
    async run(ctx, o) {
      const c = await client(ctx, true);
      const me = await c.address();
      const to = o.to ?? me;
      const amount = (await c.providerStatus(me)).earnings;
      await c.withdrawEarnings(to);
      out(`withdrew ${c.format(amount)} of earnings to ${to}`);
    },
  }),
  "iep status": command({
    usage: "iep status [<address>]",
    summary: "show a provider's listing, stake, unbonding and earnings",
    async run(ctx) {
      const c = await client(ctx, false);
      const who = ctx.args[0] ? await addressArg(ctx.args[0], "<address>") : await c.address();
      const s = await c.providerStatus(who);
      out(`provider   ${who}  ${s.active ? "ACTIVE" : "inactive"} (min stake ${c.format(s.minStake)})`);
      if (s.listing) {
        const l = s.listing;
        out(`listing    peer ${l.peerId}  domain ${l.domain || "-"}  region ${l.region || "-"}`);
        out(
          `capacity   ${l.cpuMillis} millicores, ${l.memoryMiB} MiB; prices ${c.format(l.cpuPricePerSecond)}/core/s, ${c.format(l.memoryPricePerSecond)}/GiB/s`,
        );
        out(`multiaddrs ${l.multiaddrs.join(" ")}`);
      } else out("listing    none (icon iep register)");
      out(
        `stake      ${c.format(s.total)} total, ${c.format(s.locked)} locked by leases, ${c.format(s.available)} free`,
      );
      if (s.unbonding > 0n)
        out(
          `unbonding  ${c.format(s.unbonding)}, withdrawable from ${new Date(Number(s.readyAt) * 1000).toISOString()}`,
        );
      out(`earnings   ${c.format(s.earnings)} claimed, not withdrawn`);
    },
  }),
};
