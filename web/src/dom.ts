// A few DOM helpers: the app's views are plain elements, built from the node's answers.

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | ((e: Event) => void)> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// table is a table with a header row and one row a record; data-* attributes name cells for tests.
export function table(headers: string[], rows: Child[][], testid?: string): HTMLTableElement {
  return h(
    "table",
    testid ? { "data-testid": testid } : {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))) : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "none"))),
  );
}

export function section(title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h("section", {}, h("h2", {}, title), ...children);
}

// mono is a value shown whole on hover, shortened in the cell.
export function mono(full: string, shown: string): HTMLElement {
  return h("span", { class: "mono", title: full }, shown);
}

export function errorBox(err: unknown): HTMLElement {
  return h("div", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err));
}

// amount formats base units with the token's exponent (1 LEARN = 10^6 ulearn).
export function amount(base: string | bigint, exponent = 6, symbol = ""): string {
  const v = BigInt(base ?? 0);
  const d = 10n ** BigInt(exponent);
  const whole = v / d;
  let frac = (v % d).toString().padStart(exponent, "0").replace(/0+$/, "");
  if (frac.length > 6) frac = frac.slice(0, 6);
  return `${whole.toLocaleString("en-US")}${frac ? "." + frac : ""}${symbol ? " " + symbol : ""}`;
}

// percent formats a decimal fraction (the chain's "0.375000000000000000") as 37.5%.
export function percent(frac: string | number): string {
  const f = typeof frac === "number" ? frac : parseFloat(frac);
  return `${(f * 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}
