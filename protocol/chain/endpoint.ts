/**
 * RPC URLs as people see them and as they are fetched: URLs often carry secrets (an API key in the path or query,
 * `user:password@` credentials), so a message names only the endpoint's scheme and host ({@link originOf}), and
 * credentials travel in an `Authorization: Basic` header ({@link splitCredentials}) — the global fetch refuses a URL
 * that carries them (and its error quotes the URL, secret included).
 *
 * @example
 *   originOf("https://user:secret@rpc.example/v2/KEY");          // "https://rpc.example"
 *   splitCredentials("https://user:secret@rpc.example/v2/KEY");  // { url: "https://rpc.example/v2/KEY", authorization: "Basic dXNlcjpzZWNyZXQ=" }
 */

/** The endpoint without path, query or credentials. */
export function originOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "the configured RPC endpoint";
  }
}

/** `text` with every http(s) URL in it cut to its origin (for messages that quote a URL). */
export function redactUrls(text: string): string {
  return text.replace(/https?:\/\/[^\s"'<>]+/gi, (u) => originOf(u));
}

/** The URL to fetch (no userinfo) and the Authorization header its userinfo becomes, if any. */
export function splitCredentials(url: string): { url: string; authorization?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (u.username === "" && u.password === "") return { url };
  const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  u.username = "";
  u.password = "";
  return { url: u.toString(), authorization: `Basic ${Buffer.from(pair).toString("base64")}` };
}
