/** The `icon key …` commands (the keystore itself: keystore.ts). */
import { need, out, requireWallet, say } from "./context.ts";
import { createKeystore } from "./keystore.ts";
import { command, type Command } from "./options.ts";

export const keyCommands: Record<string, Command> = {
  "key new": command({
    usage: "key new <file>",
    summary: "create a random key in an encrypted JSON keystore (password from ICON_KEYSTORE_PASSWORD or prompt)",
    async run(ctx) {
      const file = need(ctx, 0, "file", this.usage);
      const address = await createKeystore(file);
      say(`created ${file}`);
      out(address);
    },
  }),
  "key address": command({
    usage: "key address",
    summary: "print the address of the configured key (--keystore or ICON_PRIVATE_KEY)",
    async run(ctx) {
      out((await requireWallet(ctx)).address);
    },
  }),
};
