/**
 * The CLI's keys: an encrypted JSON keystore (ethers, scrypt) or, for development, ICON_PRIVATE_KEY. A key is never
 * printed or logged; errors name the file or variable, never the secret. ethers is imported when a key is read or
 * made, not when `icon` starts. (The `icon key …` commands are in keys.ts.)
 */
import { readFile, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Wallet } from "ethers";
import { ConfigError } from "../../protocol/errors.ts";

/** Reads a password from ICON_KEYSTORE_PASSWORD, or asks on the terminal without echo. */
export async function readPassword(prompt: string): Promise<string> {
  const fromEnv = process.env.ICON_KEYSTORE_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new ConfigError(
      "NO_PASSWORD",
      "the keystore needs a password: set ICON_KEYSTORE_PASSWORD or run in a terminal",
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlAny = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
  rlAny._writeToOutput = (s: string) => {
    if (s.includes(prompt)) rlAny.output.write(s);
  };
  try {
    return await new Promise<string>((resolve) => rl.question(prompt, resolve));
  } finally {
    process.stderr.write("\n");
    rl.close();
  }
}

/** Loads the signer from `--keystore` or ICON_PRIVATE_KEY; undefined if neither is given. */
export async function loadWallet(keystore: string | undefined): Promise<Wallet | undefined> {
  if (keystore) {
    let json: string;
    try {
      json = await readFile(keystore, "utf8");
    } catch (cause) {
      throw new ConfigError(
        "NO_KEYSTORE",
        `cannot read keystore ${keystore}: create one with \`icon key new ${keystore}\``,
        { cause },
      );
    }
    const password = await readPassword(`password for ${keystore}: `);
    const { Wallet } = await import("ethers");
    try {
      return (await Wallet.fromEncryptedJson(json, password)) as Wallet;
    } catch (cause) {
      throw new ConfigError(
        "BAD_KEYSTORE",
        `cannot decrypt keystore ${keystore}: wrong password or not an encrypted JSON wallet`,
        { cause },
      );
    }
  }
  const env = process.env.ICON_PRIVATE_KEY;
  if (env !== undefined && env !== "") {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(env.trim())) {
      throw new ConfigError(
        "BAD_PRIVATE_KEY",
        "ICON_PRIVATE_KEY is not a 32-byte hex private key (64 hex digits, optional 0x)",
      );
    }
    const k = env.trim();
    const { Wallet } = await import("ethers");
    return new Wallet(k.startsWith("0x") ? k : `0x${k}`);
  }
  return undefined;
}

/** Creates a new random key, encrypted into `file` (mode 0600); returns its address. */
export async function createKeystore(file: string): Promise<string> {
  const password = await readPassword(`new password for ${file}: `);
  if (password.length < 8)
    throw new ConfigError("WEAK_PASSWORD", "the keystore password must have at least 8 characters");
  const { Wallet } = await import("ethers");
  const wallet = Wallet.createRandom();
  const json = await wallet.encrypt(password);
  await writeFile(file, json, { mode: 0o600, flag: "wx" }).catch((cause: NodeJS.ErrnoException) => {
    throw new ConfigError(
      "KEYSTORE_EXISTS",
      cause.code === "EEXIST"
        ? `${file} already exists; choose another file`
        : `cannot write ${file}: ${cause.message}`,
      { cause },
    );
  });
  return wallet.address;
}
