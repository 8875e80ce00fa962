/**
 * Namespaces bound to applications on chain. A service is named `app.appns.service.servicens`; its namespace is
 * `app.appns`, and a container reaches the services of its own namespace. So that no tenant can name its services
 * into another application's namespace, the `appns` label is derived from the application's root budget account:
 * `appns` = `r<root id>` (`r7` for the application whose root account is 7). The chain assigns root ids, each to one
 * owner, and a lease's paying account names its root for good, so every yard can check a name against a lease
 * from the chain alone, with no registry of names. The `r` keeps the label a DNS label that cannot be mistaken for
 * a lease id (`<id>.none`); a uint64 id is at most 20 digits, well inside 63. `app` stays the owner's choice.
 *
 * @example
 *   appNamespace(7n);                                   // "r7"
 *   appServiceName({ app: "shop", service: "web", servicens: "prod" }, 7n);  // "shop.r7.web.prod"
 *   namespaceProblem("shop.r8.web.prod", 7n);           // a sentence: the namespace is not application 7's
 */

/** The `appns` label of the application whose root budget account is `root`: `r<root>`. */
export function appNamespace(root: bigint): string {
  if (typeof root !== "bigint" || root <= 0n) throw new RangeError(`application root ${String(root)} is not an id`);
  return `r${root}`;
}

/** The root account id an `appns` label names (`r7` → 7n), or undefined when it is no application namespace. */
export function namespaceRoot(appns: string): bigint | undefined {
  return /^r[1-9][0-9]{0,19}$/.test(appns) ? BigInt(appns.slice(1)) : undefined;
}

/** The full service key `app.r<root>.service.servicens`. */
export function appServiceName(n: { app: string; service: string; servicens: string }, root: bigint): string {
  return `${n.app}.${appNamespace(root)}.${n.service}.${n.servicens}`;
}

/**
 * Why service key `service` (`app.appns.service.servicens`) may not be used by the application rooted at `root`,
 * as a sentence naming the namespace it must use; undefined when its namespace is that application's.
 */
export function namespaceProblem(service: string, root: bigint): string | undefined {
  const labels = service.split(".");
  const expected = appNamespace(root);
  if (labels.length === 4 && labels[1] === expected) return undefined;
  const app = labels.length === 4 ? labels[0] : "<app>";
  const fixed =
    labels.length === 4 ? `${app}.${expected}.${labels[2]}.${labels[3]}` : `<app>.${expected}.<service>.<servicens>`;
  return (
    `service ${JSON.stringify(service)} is not in the namespace of application ${root}: its namespace label ` +
    `(the second) must be ${expected}, derived from the application's root account, e.g. ${fixed}`
  );
}
