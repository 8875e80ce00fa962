/**
 * `icon console`'s HTTP server under attack (scripts/lib/console-server.ts, no browser, no chain: the deployment is
 * only served data): 2,000 connections opened at once and held, a 1 MiB request head, a request that streams a
 * gigabyte body, headers that trickle in (slowloris). The server stays up, holds no more than its bounds
 * (consoleServerLimits: connections, idle and slow requests, head size, no body) and answers a real request after each.
 * Its `/icons` reading yard fakes: malformed items dropped; each yard passed only the grant sent with its URL naming
 * its operator (as the yard gives it at /icons/yard), a yard without one not asked, two yards naming one operator
 * shown no grant, a yard naming another's operator once the other falls silent not handed the other's grant.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { consoleServerLimits, startConsoleServer, type ConsoleServer } from "../../../scripts/lib/console-server.ts";
import type { Deployment } from "../../../protocol/chain/deployment.ts";
import { statusGrantsQuery } from "../../../protocol/yard/icon-status.ts";

const deployment: Deployment = {
  chainId: 31337,
  token: "0x" + "11".repeat(20),
  registry: "0x" + "22".repeat(20),
  market: "0x" + "33".repeat(20),
  accessManager: "0x" + "44".repeat(20),
  deployedAt: "2026-01-01T00:00:00.000Z",
  blockNumber: 0,
};

/** Resolves once `test()` holds (checked on each of the events that can change it), or fails after `ms`. */
function until(what: string, test: () => boolean, ms: number, ticks: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
    const wake = (): void => {
      if (!test()) return;
      clearTimeout(timer);
      resolve();
    };
    ticks(wake);
    wake();
  });
}

describe("icon console's server under a flood and oversized requests", function () {
  this.timeout(120_000);
  let server: ConsoleServer;
  let port: number;
  const open: Socket[] = [];

  before(async () => {
    server = await startConsoleServer({ deployment, rpcUrl: "http://127.0.0.1:8545" });
    port = Number(new URL(server.url).port);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.destroy();
  });
  after(async () => {
    await server?.close();
  });

  /** A raw TCP connection to the server; what it received and whether the server closed it. */
  function raw(): { socket: Socket; got: () => string; closed: Promise<void>; isClosed: () => boolean } {
    const socket = connect(port, "127.0.0.1");
    open.push(socket);
    let got = "";
    let closed = false;
    socket.on("data", (b: Buffer) => (got += b.toString("latin1")));
    socket.on("error", () => {});
    const done = new Promise<void>((resolve) => socket.once("close", () => resolve(void (closed = true))));
    return { socket, got: () => got, closed: done, isClosed: () => closed };
  }

  /** A real request answers: the served deployment. */
  async function answers(): Promise<void> {
    const r = await fetch(new URL("deployment.json", server.url), { signal: AbortSignal.timeout(20_000) });
    expect(r.status).to.equal(200);
    expect(((await r.json()) as { deployment: Deployment }).deployment.market).to.equal(deployment.market);
  }

  it("holds at most its cap of 2,000 connections opened and held, frees the held ones once idle, then answers", async () => {
    let settled = 0;
    const wakers: Array<() => void> = [];
    for (let i = 0; i < 2_000; i++) {
      const s = connect(port, "127.0.0.1");
      open.push(s);
      s.on("error", () => {});
      const done = (): void => {
        settled++;
        for (const w of wakers) w();
      };
      s.once("connect", done);
      s.once("close", () => s.connecting && done());
    }
    // Every connection of the flood is open (or was refused); its side never closes one, nor sends a byte.
    await until(
      "2,000 connections opened",
      () => settled === 2_000,
      30_000,
      (w) => wakers.push(w),
    );
    const cap = consoleServerLimits.maxConnections;
    expect(await server.connections(), "connections the server holds").to.be.at.most(cap);
    // The ones it holds are silent: each is closed after the idle bound, and the slots are free again.
    const deadline = performance.now() + consoleServerLimits.idleMs + 30_000;
    while ((await server.connections()) > 0) {
      expect(performance.now(), "the held, silent connections still open").to.be.below(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
    await answers();
  });

  it("answers a 1 MiB request head 431 and closes its connection, then answers", async () => {
    const c = raw();
    c.socket.write(`GET / HTTP/1.1\r\nHost: console\r\nX-Big: ${"a".repeat(2 ** 20)}\r\n\r\n`);
    await c.closed;
    expect(c.got()).to.match(/^HTTP\/1\.1 431 /);
    await answers();
  });

  it("refuses a body unread: a request declaring 1 GB is answered 413 and closed before 64 MiB are sent", async () => {
    const c = raw();
    c.socket.write("POST / HTTP/1.1\r\nHost: console\r\nContent-Length: 1000000000\r\n\r\n");
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    while (!c.isClosed() && sent < 64 * 2 ** 20) {
      if (!c.socket.write(chunk)) await Promise.race([new Promise((r) => c.socket.once("drain", r)), c.closed]);
      sent += chunk.length;
    }
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 5_000))]);
    expect(c.isClosed(), `still open after ${sent} bytes of body`).to.equal(true);
    expect(c.got()).to.match(/^HTTP\/1\.1 413 /);
    await answers();
  });

  it("closes a connection whose headers trickle in (slowloris) within the headers' bound, then answers", async () => {
    const c = raw();
    c.socket.write("GET / HTTP/1.1\r\nHost: console\r\n");
    const t0 = performance.now();
    // A header line every 500 ms: never idle, never done.
    const drip = setInterval(() => c.socket.write(`X-Drip-${Math.round(performance.now())}: 1\r\n`), 500);
    try {
      await Promise.race([
        c.closed,
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error("the trickling request is still open")),
            consoleServerLimits.headersMs + 15_000,
          ),
        ),
      ]);
    } finally {
      clearInterval(drip);
    }
    expect(performance.now() - t0).to.be.greaterThan(consoleServerLimits.headersMs - 1_000);
    await answers();
  });
});

describe("icon console's server reading a yard that answers malformed ICON status", function () {
  this.timeout(60_000);
  let yard: Server;
  let yardUrl: string;
  let server: ConsoleServer;
  const op = "0x" + "ab".repeat(20);
  const good = (leaseId: string, yardId: string) => ({
    leaseId,
    yardId,
    leaseAccount: "5",
    receivedAtMs: 1_700_000_000_000,
    report: {
      name: "icon-5",
      account: "5",
      instance: 1,
      policyVersion: 3,
      atMs: 1_700_000_000_000,
      subnets: [{ subnet: "198.18.4.0/24", ratePerS: 2, latencyMs: 9 }],
      decisions: [],
    },
  });

  before(async () => {
    // MalformedYardFake: a yard whose GET /icons mixes well-formed items with malformed ones and one that claims to
    // be another yard's.
    yard = createServer((req, res) => {
      if (req.url === "/icons/yard") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ yardId: "x", operator: op }));
        return;
      }
      const icons = [
        { report: {} },
        { ...good("7", "yard-elsewhere") },
        { ...good("8", "x"), leaseId: "8; drop" },
        { ...good("9", "x"), report: { ...good("9", "x").report, name: "<script>".repeat(40) } },
        { ...good("10", "x"), report: { ...good("10", "x").report, secret: 1 } },
        "not an object",
        null,
        good("11", "x"),
      ];
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ yardId: "x", app: "1", icons }));
    });
    await new Promise<void>((r) => yard.listen(0, "127.0.0.1", r));
    yardUrl = `http://127.0.0.1:${(yard.address() as AddressInfo).port}`;
    server = await startConsoleServer({ deployment, rpcUrl: "http://127.0.0.1:8545", yardHttp: [yardUrl] });
  });
  after(async () => {
    await server?.close();
    await new Promise((r) => yard?.close(r));
  });

  it("drops the items that fail the report parser or a decimal lease id, keeps the good ones under the yard asked", async () => {
    const r = await fetch(new URL(`icons?${statusGrantsQuery([{ url: yardUrl, query: fakeGrant(op) }])}`, server.url));
    expect(r.status).to.equal(200);
    const body = (await r.json()) as {
      icons: { leaseId: string; yardId: string; report: { policyVersion: number } }[];
      yards: { yard: string; status: number; dropped?: number }[];
    };
    expect(body.icons.map((i) => [i.leaseId, i.yardId, i.report.policyVersion])).to.deep.equal([
      ["7", yardUrl, 3],
      ["11", yardUrl, 3],
    ]);
    expect(body.yards).to.deep.equal([{ yard: yardUrl, operator: op, status: 200, dropped: 6 }]);
  });
});

/** A well-formed grant query naming yard operator `yard` (the fakes below check no signature). */
function fakeGrant(yard: string, reader = "0x" + "11".repeat(20)): string {
  return `app=1&yard=${yard}&reader=${reader}&expiry=${Math.floor(Date.now() / 1000) + 60}&sig=0x${"22".repeat(65)}`;
}

describe("icon console's server passing each yard only the grant that names it", function () {
  this.timeout(60_000);
  const fakes: { server: Server; url: string; operator: string; asked: string[] }[] = [];
  let server: ConsoleServer;
  const [opA, opB] = ["0x" + "a1".repeat(20), "0x" + "b2".repeat(20)];

  /** YardFake: names `operator` at /icons/yard and records every /icons query it is sent (what it could replay). */
  async function yardFake(operator: string) {
    const asked: string[] = [];
    const s = createServer((req, res) => {
      const [p, q] = (req.url ?? "").split("?", 2);
      if (p === "/icons/yard") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ yardId: "f", operator }));
        return;
      }
      asked.push(q ?? "");
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ yardId: "f", app: "1", icons: [] }));
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const fake = { server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, operator, asked };
    fakes.push(fake);
    return fake;
  }

  after(async () => {
    await server?.close();
    for (const f of fakes) await new Promise((r) => f.server.close(r));
  });

  it("names each yard's operator at /yards, passes A only A's grant and B only B's; a yard without one is not asked", async () => {
    const [a, b] = [await yardFake(opA), await yardFake(opB)];
    server = await startConsoleServer({ deployment, rpcUrl: "http://127.0.0.1:8545", yardHttp: [a.url, b.url] });
    const yards = (await (await fetch(new URL("yards", server.url))).json()) as { yards: unknown[] };
    expect(yards.yards).to.deep.equal([
      { yard: a.url, operator: opA },
      { yard: b.url, operator: opB },
    ]);
    const [gA, gB] = [
      { url: a.url, query: fakeGrant(opA) },
      { url: b.url, query: fakeGrant(opB) },
    ];
    const both = await fetch(new URL(`icons?${statusGrantsQuery([gB, gA])}`, server.url));
    expect(both.status).to.equal(200);
    expect(a.asked.map((q) => new URLSearchParams(q).get("yard"))).to.deep.equal([opA]);
    expect(b.asked.map((q) => new URLSearchParams(q).get("yard"))).to.deep.equal([opB]);
    // Only A's grant: B is not asked at all, and the page is told B needs its own.
    const onlyA = await fetch(new URL(`icons?${statusGrantsQuery([gA])}`, server.url));
    const body = (await onlyA.json()) as {
      yards: { yard: string; operator?: string; status: number; error?: string }[];
    };
    expect(onlyA.status).to.equal(200);
    expect(body.yards).to.deep.equal([
      { yard: a.url, operator: opA, status: 200 },
      {
        yard: b.url,
        operator: opB,
        status: 401,
        error: `no read grant names this yard (operator ${opB}); sign one for it`,
      },
    ]);
    expect([a.asked.length, b.asked.length]).to.deep.equal([2, 1]);
    await server.close();
  });

  it("gives no grant to a yard whose /icons/yard answer is oversized, no address, or no JSON, and says why", async () => {
    // Yards answering their identity badly (MalformedIdentityFake): more than the 4 KiB read, an operator that is no
    // address, a body that is no JSON. None is named an operator, so the page asks no grant for any of them.
    const answers = [
      JSON.stringify({ operator: opA, pad: "x".repeat(8192) }),
      JSON.stringify({ operator: "nope" }),
      "{",
    ];
    const bad = await Promise.all(
      answers.map(async (body) => {
        const srv = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(body));
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        const fake = {
          server: srv,
          url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
          operator: "",
          asked: [],
        };
        fakes.push(fake);
        return fake.url;
      }),
    );
    server = await startConsoleServer({ deployment, rpcUrl: "http://127.0.0.1:8545", yardHttp: bad });
    const yards = (await (await fetch(new URL("yards", server.url))).json()) as {
      yards: { yard: string; operator?: string; error?: string }[];
    };
    expect(yards.yards.map((y) => y.operator)).to.deep.equal([undefined, undefined, undefined]);
    expect(yards.yards[0]!.error).to.match(/answered more than 4096 bytes/);
    expect(yards.yards[1]!.error).to.equal("does not name its operator at /icons/yard (answered 200)");
    expect(yards.yards[2]!.error).to.be.a("string").and.not.equal("");
    await server.close();
  });

  it("shows no grant to two yards that name the same operator (one of them lies)", async () => {
    const [a, liar] = [await yardFake(opA), await yardFake(opA)];
    server = await startConsoleServer({ deployment, rpcUrl: "http://127.0.0.1:8545", yardHttp: [a.url, liar.url] });
    const yards = (await (await fetch(new URL("yards", server.url))).json()) as {
      yards: { yard: string; operator?: string; error?: string }[];
    };
    expect(yards.yards.map((y) => y.operator)).to.deep.equal([undefined, undefined]);
    expect(yards.yards[1]!.error).to.equal(
      `names operator ${opA}, as ${a.url} does: one of them is not what it says, so neither is shown a grant`,
    );
    const r = await fetch(
      new URL(
        `icons?${statusGrantsQuery([
          { url: a.url, query: fakeGrant(opA) },
          { url: liar.url, query: fakeGrant(opA) },
        ])}`,
        server.url,
      ),
    );
    const body = (await r.json()) as { yards: { status: number }[] };
    expect(body.yards.map((y) => y.status)).to.deep.equal([0, 0]);
    expect([a.asked.length, liar.asked.length]).to.deep.equal([0, 0]);
    // More grants than yards the console may name, or a malformed one: refused before any yard is asked.
    const many = await fetch(
      new URL(
        `icons?${statusGrantsQuery(Array.from({ length: 17 }, (_, i) => ({ url: `${a.url}/${i}`, query: fakeGrant(opA) })))}`,
        server.url,
      ),
    );
    expect(many.status).to.equal(401);
    expect(((await many.json()) as { error: string }).error).to.contain("at most 16 grants");
    const bad = await fetch(
      new URL(`icons?${statusGrantsQuery([{ url: a.url, query: "app=1&reader=0x00" }])}`, server.url),
    );
    expect(((await bad.json()) as { error: string }).error).to.contain("grant 1: yard must be the address");
    // A grant without the yard URL it was signed for: refused (it could not be bound to one yard).
    const unbound = await fetch(new URL(`icons?grant=${encodeURIComponent(fakeGrant(opA))}`, server.url));
    expect(unbound.status).to.equal(401);
    expect(((await unbound.json()) as { error: string }).error).to.contain(
      "grant 1: url must be the yard's HTTP URL the grant was signed for",
    );
    expect([a.asked.length, liar.asked.length]).to.deep.equal([0, 0]);
    await server.close();
  });

  it("hands a grant only to the yard URL it was signed for, while it names that operator: B claiming A's operator after A falls silent gets nothing", async () => {
    // A names opA and answers, then its /icons/yard fails (timed out, or gone); B names opA all along.
    let aSilent = false;
    const asked: string[] = [];
    const a = createServer((req, res) => {
      const [p, q] = (req.url ?? "").split("?", 2);
      if (p === "/icons/yard") {
        if (aSilent) res.writeHead(503).end();
        else
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ yardId: "a", operator: opA }));
        return;
      }
      asked.push(q ?? "");
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ yardId: "a", app: "1", icons: [] }));
    });
    await new Promise<void>((r) => a.listen(0, "127.0.0.1", r));
    const aUrl = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
    const b = await yardFake(opA);
    const yardsNow = [aUrl];
    server = await startConsoleServer({ deployment, rpcUrl: "http://127.0.0.1:8545", yardHttp: () => yardsNow });
    try {
      const gA = { url: aUrl, query: fakeGrant(opA) };
      // A alone, naming opA: its grant reaches it.
      const first = await fetch(new URL(`icons?${statusGrantsQuery([gA])}`, server.url));
      expect(first.status).to.equal(200);
      expect(asked.map((q) => new URLSearchParams(q).get("yard"))).to.deep.equal([opA]);
      // B joins (naming opA too) while A falls silent: the console asks fresh at /yards, A fails, B has no twin.
      yardsNow.push(b.url);
      aSilent = true;
      const yards = (await (await fetch(new URL("yards", server.url))).json()) as {
        yards: { yard: string; operator?: string; error?: string }[];
      };
      expect(yards.yards.map((y) => [y.yard, y.operator])).to.deep.equal([
        [aUrl, undefined],
        [b.url, opA],
      ]);
      // The page keeps sending A's grant (bound to A's URL): B, naming A's operator now, is not handed it.
      const after = await fetch(new URL(`icons?${statusGrantsQuery([gA])}`, server.url));
      const body = (await after.json()) as {
        yards: { yard: string; operator?: string; status: number; error?: string }[];
      };
      expect(body.yards.find((y) => y.yard === b.url)).to.deep.equal({
        yard: b.url,
        operator: opA,
        status: 401,
        error: `no read grant names this yard (operator ${opA}); sign one for it`,
      });
      expect(b.asked).to.deep.equal([]);
      expect(asked.length).to.equal(1);
      // A grant sent with B's URL but naming another operator than B names now: not passed on either.
      const other = await fetch(
        new URL(`icons?${statusGrantsQuery([{ url: b.url, query: fakeGrant(opB) }])}`, server.url),
      );
      expect(((await other.json()) as { yards: { yard: string; status: number }[] }).yards).to.deep.include({
        yard: b.url,
        operator: opA,
        status: 401,
        error: `no read grant names this yard (operator ${opA}); sign one for it`,
      });
      expect(b.asked).to.deep.equal([]);
    } finally {
      await server.close();
      await new Promise((r) => a.close(r));
    }
  });
});
