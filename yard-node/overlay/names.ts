/**
 * Semantic names of the overlay (thesis, proxy chapter): how a container names the service it wants to reach.
 *
 *   app.appns.service.servicens.any.<policy>[.icon][.]   a ServiceIP: any instance, picked by the routing policy
 *   app.appns.service.servicens.<id>.none[.icon][.]      an InstanceIP: the instance of lease <id>, no policy
 *
 * Every label is a DNS label: 1-63 lower case letters, digits or dashes, neither starting nor ending with a dash.
 * Upper case is accepted and folded (DNS names are case-insensitive); `format` always writes lower case.
 * `<id>` is a lease id in decimal without leading zeros (`0`, `1`, `42`, …; at most 63 digits).
 * `<policy>` is a policy label: a lower case letter, then letters, digits or dashes (`rr`, `closest`, `least-conn`);
 * `none` is reserved for instance names and `any` is not a policy. The combinations `any.none` (no policy to pick
 * with) and `<id>.<policy>` (nothing to pick) are invalid. The whole name is at most 253 characters.
 *
 * Namespaces: a service's namespace is `app.appns`. See {@link allowed} for who may reach whom.
 */
import { ConfigError, IconError } from "../../protocol/errors.ts";
import type { ServiceName } from "./types.ts";

/** The optional suffix of semantic names (a pseudo top-level domain). */
export const SEMANTIC_SUFFIX = "icon";
/** The instance label of a ServiceIP name. */
export const ANY_INSTANCE = "any";
/** The policy label of an InstanceIP name. */
export const NO_POLICY = "none";

/** A parsed semantic name. */
export type SemanticName =
  | { kind: "service"; service: ServiceName; policy: string }
  | { kind: "instance"; service: ServiceName; instanceId: bigint };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const POLICY = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const INSTANCE_ID = /^(?:0|[1-9][0-9]{0,62})$/;
const MAX_NAME = 253;
const SERVICE_FIELDS = ["app", "appns", "service", "servicens"] as const;

/** True when `s` is a DNS label as semantic names use them (lower case). */
export function isLabel(s: string): boolean {
  return LABEL.test(s);
}

/** True when `s` can be a policy label in a name (`none` and `any` cannot). */
export function isPolicyLabel(s: string): boolean {
  return POLICY.test(s) && s !== NO_POLICY && s !== ANY_INSTANCE;
}

/**
 * Parses a semantic name; throws an IconError BAD_SEMANTIC_NAME (a sentence naming what is wrong) when `name` is
 * not one. Accepts the optional `.icon` suffix and a trailing dot; folds upper case.
 */
export function parseName(name: string): SemanticName {
  const r = tryParse(name);
  if (typeof r === "string") {
    throw new IconError("BAD_SEMANTIC_NAME", `${JSON.stringify(name)} is not a semantic name: ${r}`, {
      details: { name },
    });
  }
  return r;
}

/** Like {@link parseName}, but undefined instead of an error. */
export function tryParseName(name: string): SemanticName | undefined {
  const r = tryParse(name);
  return typeof r === "string" ? undefined : r;
}

/** The name's text: `app.appns.service.servicens.any.<policy>` or `….<id>.none`, plus `.icon` when `suffix`. */
export function formatName(n: SemanticName, o: { suffix?: boolean } = {}): string {
  checkService(n.service);
  let tail: string;
  if (n.kind === "service") {
    if (!isPolicyLabel(n.policy)) throw badField("policy", n.policy, "is not a policy label ([a-z][a-z0-9-]*)");
    tail = `${ANY_INSTANCE}.${n.policy}`;
  } else {
    if (typeof n.instanceId !== "bigint" || n.instanceId < 0n || !INSTANCE_ID.test(n.instanceId.toString())) {
      throw badField("instanceId", String(n.instanceId), "is not a lease id (a bigint from 0, at most 63 digits)");
    }
    tail = `${n.instanceId}.${NO_POLICY}`;
  }
  const { app, appns, service, servicens } = n.service;
  const text = `${app}.${appns}.${service}.${servicens}.${tail}${o.suffix ? `.${SEMANTIC_SUFFIX}` : ""}`;
  if (text.length > MAX_NAME) throw badField("name", text, `is longer than ${MAX_NAME} characters`);
  return text;
}

/** `app.appns`: the namespace of a service. */
export function namespaceOf(s: ServiceName): string {
  return `${s.app}.${s.appns}`;
}

/** Parses `app.appns.service.servicens` (four labels); throws BAD_SERVICE_NAME. */
export function parseServiceKey(key: string): ServiceName {
  const labels = asciiLower(key).split(".");
  if (labels.length !== 4) {
    throw new IconError("BAD_SERVICE_NAME", `${JSON.stringify(key)} is not app.appns.service.servicens (4 labels)`, {
      details: { key },
    });
  }
  const bad = labels.findIndex((l) => !isLabel(l));
  if (bad >= 0) {
    throw new IconError(
      "BAD_SERVICE_NAME",
      `${JSON.stringify(key)}: ${SERVICE_FIELDS[bad]} ${JSON.stringify(labels[bad])} is not a DNS label`,
      { details: { key } },
    );
  }
  const [app, appns, service, servicens] = labels;
  return { app, appns, service, servicens };
}

/**
 * Namespace rules: may a connection from service `from` reach service `to`?
 *
 * - A service may always reach services of its own namespace (same `app.appns`).
 * - Beyond that, `rules` belong to the TARGET (`to`): each rule names sources that may reach it, as a pattern of
 *   four labels `app.appns.service.servicens` in which any label may be `*` (any value). `from` may reach `to`
 *   when it matches at least one rule. Examples (rules of the target):
 *     `shop.acme.*.*`          every service of namespace shop.acme
 *     `shop.acme.frontend.*`   service `frontend` of shop.acme, whatever its servicens
 *     `*.*.*.*`                every service (a public service)
 * - Nothing else is allowed; there is no deny rule (an empty list means: own namespace only).
 *
 * A malformed rule throws ConfigError BAD_NAMESPACE_RULE (check them up front with {@link checkRules}).
 */
export function allowed(from: ServiceName, to: ServiceName, rules: readonly string[]): boolean {
  if (from.app === to.app && from.appns === to.appns) return true;
  const source = [from.app, from.appns, from.service, from.servicens];
  return rules.some((rule) => parseRule(rule).every((p, i) => p === "*" || p === source[i]));
}

/** Throws ConfigError BAD_NAMESPACE_RULE for the first malformed rule. */
export function checkRules(rules: readonly string[]): void {
  for (const rule of rules) parseRule(rule);
}

function parseRule(rule: string): string[] {
  const labels = typeof rule === "string" ? asciiLower(rule).split(".") : [];
  if (labels.length !== 4 || !labels.every((l) => l === "*" || isLabel(l))) {
    throw new ConfigError(
      "BAD_NAMESPACE_RULE",
      `namespace rule ${JSON.stringify(rule)} must be four labels app.appns.service.servicens, each a DNS label or "*"`,
      { details: { rule } },
    );
  }
  return labels;
}

/** The parsed name, or a sentence saying why `name` is not one. */
function tryParse(name: string): SemanticName | string {
  if (typeof name !== "string") return "it is not a string";
  let text = asciiLower(name);
  if (text.endsWith(".")) text = text.slice(0, -1);
  if (text.length > MAX_NAME) return `it is longer than ${MAX_NAME} characters`;
  let labels = text.split(".");
  if (labels.length === 7 && labels[6] === SEMANTIC_SUFFIX) labels = labels.slice(0, 6);
  if (labels.length !== 6) {
    return `it has ${labels.length} labels; expected app.appns.service.servicens.(<id>|any).(<policy>|none)[.icon]`;
  }
  for (let i = 0; i < 4; i++) {
    if (!isLabel(labels[i])) {
      return `${SERVICE_FIELDS[i]} ${JSON.stringify(labels[i])} is not a DNS label (1-63 letters, digits, inner dashes)`;
    }
  }
  const [app, appns, service, servicens, instance, policy] = labels;
  const svc: ServiceName = { app, appns, service, servicens };
  if (instance === ANY_INSTANCE) {
    if (policy === NO_POLICY) return `"any.none" names no policy to pick an instance with; use any.<policy>`;
    if (!isPolicyLabel(policy)) return `policy ${JSON.stringify(policy)} is not a policy label ([a-z][a-z0-9-]*)`;
    return { kind: "service", service: svc, policy };
  }
  if (!INSTANCE_ID.test(instance)) {
    return `instance ${JSON.stringify(instance)} is neither "any" nor a decimal lease id without leading zeros`;
  }
  if (policy !== NO_POLICY) return `an instance name (${instance}) takes no policy: it must end in ${instance}.none`;
  return { kind: "instance", service: svc, instanceId: BigInt(instance) };
}

/** Folds A-Z only: `toLowerCase()` would also fold non-ASCII letters into ASCII ones (U+212A KELVIN SIGN → "k"). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function checkService(s: ServiceName): void {
  for (const f of SERVICE_FIELDS) {
    if (typeof s?.[f] !== "string" || !isLabel(s[f])) throw badField(f, String(s?.[f]), "is not a DNS label");
  }
}

function badField(field: string, value: string, why: string): IconError {
  return new IconError("BAD_SEMANTIC_NAME", `${field} ${JSON.stringify(value)} ${why}`, { details: { field } });
}
