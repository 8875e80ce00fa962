/**
 * Builds the testbed's delay element (scripts/netbed/delay.c, gcc) into .icon/netbed/ unless it is current, and
 * prints its path: the set-up's "netbed" step (scripts/setup.sh). Netbed.start builds it the same way when needed.
 */
import { delayBinary } from "../lib/netbed.ts";

process.stdout.write(`${await delayBinary()}\n`);
