/**
 * A controller that a test kills: starts the demo topology's testbed with the prefix in argv[2], prints one JSON line
 * ({ pids, namespaces, dir }) once it is up, and waits to be killed (test/mocha/testbed/netbed.test.ts).
 */
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Netbed, loadTopology } from "../../scripts/lib/netbed.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bed = await Netbed.start(await loadTopology(path.join(root, "scripts/netbed/topologies/demo.json")), {
  prefix: process.argv[2] ?? "nb-child",
});
const namespaces = bed.nodes().map((n) => statSync(bed.netnsPath(n)).ino);
process.stdout.write(`${JSON.stringify({ pids: bed.pids(), namespaces, dir: bed.dir })}\n`);
setInterval(() => {}, 60_000);
