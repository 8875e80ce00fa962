/**
 * `npm run build:console [-- --force]`: builds the owner console's page (console/ → console/dist/, Vite) unless it
 * its completion stamp (console/dist/.build-stamp) names its sources as they are; `icon console` and the console test do the same on their own when needed.
 */
import { ensureConsoleBuilt } from "./lib/console-server.ts";

const r = await ensureConsoleBuilt(process.argv.includes("--force"));
process.stderr.write(r.built ? `console built in ${(r.ms / 1000).toFixed(1)} s\n` : "console up to date\n");
