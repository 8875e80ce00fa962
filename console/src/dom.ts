/**
 * The page's one way to build DOM: elements from tag, attributes and children, text always as text nodes (never
 * innerHTML: nothing from the chain or the wallet is parsed as markup).
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

/** `<tag …attrs>children</tag>`; `on<event>` attributes become listeners, `false`/`undefined` ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c as Node | string);
  return el;
}

/** Replaces what `el` holds with `children`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren(...(children.filter((c) => c !== null && c !== undefined && c !== false) as Array<Node | string>));
}

/** The element with `id` (the page's fixed skeleton in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

/** A labelled input row of a form; `hint` is read by screen readers with the field. */
export function field(
  label: string,
  name: string,
  o: { value?: string; hint?: string; placeholder?: string; inputmode?: string; required?: boolean } = {},
): HTMLElement {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const hintId = o.hint ? id + "-hint" : undefined;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", {
      id,
      name,
      value: o.value,
      placeholder: o.placeholder,
      inputmode: o.inputmode,
      required: o.required,
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": hintId,
    }),
    o.hint ? h("small", { id: hintId }, o.hint) : null,
  );
}

/** The trimmed value of the form's input `name`. */
export function valueOf(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement || el instanceof HTMLSelectElement ? el.value.trim() : "";
}
