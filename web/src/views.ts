// The app's views: what the chain says about models, their ownership and work, an account,
// and the challenges; with a connected wallet, the actions a holder or customer takes.
import {
  all, get, hex, label, loadConfig, short,
  type Attestation, type Challenge, type Coin, type Holder, type Model, type Ownership, type Proposal, type Replica, type StageCheckpoint,
} from "./api";
import { lineChart, ownershipChart } from "./charts";
import { amount, errorBox, h, mono, percent, section, table } from "./dom";
import { claimRevenueType, depositType, voteType } from "./msgs";
import { current, send } from "./wallet";

const link = (href: string, text: string) => h("a", { href }, text);
const addr = (a: string) => h("a", { href: `#/account/${a}`, class: "mono", title: a }, short(a, 10));

function status(s: string) {
  const v = label(s, "MODEL_STATUS_");
  return h("span", { class: `badge ${v.replace(/ /g, "-")}` }, v);
}

// shares formats share/N base units as SHARE-N (6 decimals).
const shares = (c: Coin) => amount(c?.amount ?? "0", 6);
const learn = (c: Coin) => amount(c?.amount ?? "0", 6, "LEARN");

export async function modelsView(): Promise<HTMLElement> {
  const models = await all<Model>("/protolearn/models/v1/models", "models");
  const prices = await Promise.all(models.map((m) => get<{ price: { per_1k_tokens: Coin } }>(`/protolearn/inference/v1/models/${m.id}/price`).catch(() => undefined)));
  const rows = models.map((m, i) => {
    const done = BigInt(m.work_units || "0"), target = BigInt(m.target_work_units || "1");
    const pct = target > 0n ? Number((done * 10000n) / target) / 100 : 0;
    const price = prices[i]?.price?.per_1k_tokens;
    return [
      link(`#/models/${m.id}`, m.id),
      link(`#/models/${m.id}`, m.name),
      status(m.status),
      m.stages.length,
      h("span", {}, h("progress", { max: 100, value: Math.min(pct, 100) }), ` ${done}/${target} (${pct}%)`),
      price && price.amount !== "0" ? `${learn(price)} / 1k tokens` : "not on sale",
      m.parent_id !== "0" ? link(`#/models/${m.parent_id}`, `fork of ${m.parent_id}`) : "",
    ];
  });
  return section("Models", table(["Id", "Name", "Status", "Stages", "Verified work", "Price", "Family"], rows, "models"));
}

export async function modelView(id: string): Promise<HTMLElement> {
  const [{ model: m }, cps, revenue, holders, proposals, price] = await Promise.all([
    get<{ model: Model }>(`/protolearn/models/v1/models/${id}`),
    get<{ stages: StageCheckpoint[] }>(`/protolearn/models/v1/models/${id}/checkpoints`),
    get<{ revenue: { paid: string; fees: string; claimed: string; royalties: string }; share_supply: Coin; outstanding: Coin }>(`/protolearn/shares/v1/models/${id}/revenue`).catch(() => undefined),
    all<Holder>(`/protolearn/shares/v1/models/${id}/holders`, "holders"),
    all<Proposal>(`/protolearn/modelgov/v1/proposals?model_id=${id}`, "proposals").catch(() => [] as Proposal[]),
    get<{ price: { per_1k_tokens: Coin } }>(`/protolearn/inference/v1/models/${id}/price`).catch(() => undefined),
  ]);
  const out = h("div", { "data-testid": "model" });
  out.append(
    h("h1", {}, `Model ${m.id}: ${m.name} `, status(m.status)),
    h("dl", { class: "facts" },
      h("dt", {}, "Designer"), h("dd", {}, addr(m.designer), ` (${m.designer_bps / 100}% of each unit's shares)`),
      h("dt", {}, "Verified work"), h("dd", { "data-testid": "work" }, `${m.work_units} of ${m.target_work_units} work units`),
      h("dt", {}, "Stake floor"), h("dd", {}, learn(m.min_stake)),
      h("dt", {}, "Price"), h("dd", {}, price?.price?.per_1k_tokens?.amount && price.price.per_1k_tokens.amount !== "0" ? `${learn(price.price.per_1k_tokens)} per 1,000 tokens` : "not on sale"),
      m.parent_id !== "0" ? [h("dt", {}, "Fork of"), h("dd", {}, link(`#/models/${m.parent_id}`, `model ${m.parent_id}`), ` (${m.parent_bps / 100}% of revenue to its holders)`)] : null,
    ),
  );

  // Stages: their replicas and whether their weights agree.
  const rosters = await Promise.all(m.stages.map((_, s) => all<Replica>(`/protolearn/models/v1/models/${id}/stages/${s}/roster`, "replicas")));
  const stageRows = m.stages.map((st, s) => {
    const cp = cps.stages.find((c) => c.stage === s);
    return [
      s, st.layers,
      h("div", {}, rosters[s].map((r) => h("div", { class: "replica" }, addr(r.operator), " peer ", mono(r.peer_id, short(r.peer_id, 6)), ` bonds ${learn(r.bonded)}`,
        r.has_checkpoint ? [" · step ", r.checkpoint_step, " root ", mono(hex(r.checkpoint_root), hex(r.checkpoint_root).slice(0, 12))] : " · no checkpoint yet"))),
      cp && cp.committed_replicas > 0 ? `${cp.agreeing_replicas} of ${cp.committed_replicas} agree at step ${cp.latest_step}` : "none committed",
    ];
  });
  out.append(section("Stages", table(["Stage", "Layers", "Replicas", "Weights"], stageRows, "stages")));

  // Ownership: every holder with its fraction and claimable revenue, as the chain computes them.
  const owned = await Promise.all(holders.slice(0, 100).map((x) =>
    get<{ ownerships: Ownership[] }>(`/protolearn/shares/v1/ownership/${x.address}`).then((r) => r.ownerships.find((o) => o.model_id === m.id))));
  const ownRows = holders.slice(0, 100).map((x, i) => {
    const o = owned[i];
    const tr = [addr(x.address), shares(x.balance), o ? percent(o.fraction) : "", o ? learn(o.claimable) : ""];
    return tr;
  });
  const ownTable = table(["Holder", `share/${m.id}`, "Fraction", "Claimable"], ownRows, "holders");
  ownTable.querySelectorAll("tbody tr").forEach((tr, i) => {
    const o = owned[i];
    if (!holders[i]) return;
    tr.setAttribute("data-holder", holders[i].address);
    tr.setAttribute("data-balance", holders[i].balance.amount);
    if (o) {
      tr.setAttribute("data-fraction", o.fraction);
      tr.setAttribute("data-claimable", o.claimable.amount);
    }
  });
  const own = section("Ownership", ownTable);
  if (revenue) {
    const r = revenue.revenue;
    own.append(h("dl", { class: "facts", "data-testid": "revenue" },
      h("dt", {}, "Shares issued"), h("dd", {}, shares(revenue.share_supply)),
      h("dt", {}, "Revenue paid"), h("dd", {}, amount(r.paid ?? "0", 6, "LEARN"), ` (fees ${amount(r.fees ?? "0", 6, "LEARN")}, to the parent ${amount(r.royalties ?? "0", 6, "LEARN")})`),
      h("dt", {}, "Claimed"), h("dd", {}, amount(r.claimed ?? "0", 6, "LEARN")),
      h("dt", {}, "Outstanding"), h("dd", {}, learn(revenue.outstanding)),
    ));
  }
  if (holders.length > 0 && owned.some((o) => o)) {
    own.append(h("div", { class: "chart" }, ownershipChart(holders.slice(0, 100).map((x) => short(x.address, 6)), owned.map((o) => (o ? parseFloat(o.fraction) : 0)))));
  }
  out.append(own);

  // Verified work over the steps: finalized attestations, cumulative, per stage.
  // status 2 is ATTESTATION_STATUS_FINALIZED: the gateway reads an enum in a query string by number.
  const atts = await all<Attestation>(`/protolearn/verify/v1/attestations?model_id=${id}&status=2`, "attestations", 4, 400)
    .catch((err) => {
      out.append(errorBox(`verified work: ${err instanceof Error ? err.message : String(err)}`));
      return [] as Attestation[];
    });
  if (atts.length > 0) {
    const byStage = new Map<number, Attestation[]>();
    for (const a of atts) byStage.set(a.stage, [...(byStage.get(a.stage) ?? []), a]);
    const series = [...byStage.entries()].sort((a, b) => a[0] - b[0]).map(([s, list]) => {
      let sum = 0;
      const points = list.sort((a, b) => Number(a.step_to) - Number(b.step_to)).map((a) => ({ x: Number(a.step_to), y: (sum += Number(a.work_units)) }));
      return { label: `stage ${s}`, points };
    });
    out.append(section("Verified work", h("div", { class: "chart" }, lineChart("work-chart", series, "training step", "work units verified"))));
  }
  const loss = await lossSeries(id);
  if (loss) out.append(section("Training loss", h("div", { class: "chart" }, lineChart("loss-chart", loss, "time (minutes ago)", "loss (nats/token)"))));

  // Holders' proposals; with a wallet, vote.
  const propRows = proposals.map((p) => [
    p.id, label(p.action?.type ?? "", "ACTION_TYPE_"), label(p.status, "PROPOSAL_STATUS_"), p.voting_end_height, p.summary || p.result || "",
    p.status === "PROPOSAL_STATUS_VOTING" ? h("span", {}, ...[["yes", 1], ["no", 2], ["abstain", 3]].map(([name, opt]) =>
      h("button", { class: "small", "data-vote": `${p.id}-${name}`, onclick: () => act(out, `Vote ${name} on proposal ${p.id}`, () =>
        send([{ typeUrl: voteType, value: { voter: current()!.address, proposalId: BigInt(p.id), option: opt as number } }])) }, String(name)))) : "",
  ]);
  out.append(section("Holders' proposals", table(["Id", "Action", "Status", "Voting ends", "Summary", "Vote"], propRows, "proposals")));

  // Buy inference: a deposit the gateway charges (x/inference).
  const form = h("form", { class: "inline", "data-testid": "deposit" },
    h("label", {}, "Deposit for inference ", h("input", { name: "amount", type: "number", min: "0.000001", step: "0.000001", placeholder: "LEARN", required: true })),
    h("button", { type: "submit" }, "Deposit"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = (form.elements.namedItem("amount") as HTMLInputElement).value;
    const shown = price?.price?.per_1k_tokens;
    act(out, `Deposit ${v} LEARN for model ${m.id}`, async () => {
      if (!shown || shown.amount === "0") throw new Error("the model is not on sale");
      // At most the price shown: a price raised since this page loaded refuses the deposit.
      return send([{ typeUrl: depositType, value: {
        customer: current()!.address, modelId: BigInt(m.id), amount: { denom: shown.denom, amount: toBase(v) }, maxPricePer1kTokens: shown } }]);
    });
  });
  out.append(section("Inference", form));
  return out;
}

// lossSeries is the trainers' loss over the last hour from the configured Prometheus (none
// without one, or when it has none).
async function lossSeries(_model: string) {
  const cfg = await loadConfig();
  if (!cfg.prometheus) return undefined;
  const end = Math.floor(Date.now() / 1000);
  const q = new URLSearchParams({ query: "protolearn_swarm_loss", start: String(end - 3600), end: String(end), step: "5" });
  try {
    const res = await fetch(`${cfg.prometheus.replace(/\/$/, "")}/api/v1/query_range?${q}`);
    const body = await res.json();
    const result = body?.data?.result as { metric: Record<string, string>; values: [number, string][] }[] | undefined;
    if (!result?.length) return undefined;
    // Only the last stage computes a loss: the other trainers' gauge stays 0.
    const series = result.map((r) => ({ label: r.metric.instance ?? "trainer", points: r.values.map(([t, v]) => ({ x: -(end - t) / 60, y: parseFloat(v) })).filter((p) => !isNaN(p.y)) }))
      .filter((s) => s.points.some((p) => p.y !== 0));
    return series.length ? series : undefined;
  } catch {
    return undefined;
  }
}

export async function accountView(address: string): Promise<HTMLElement> {
  const out = h("div", { "data-testid": "account" });
  out.append(h("h1", {}, "Account ", h("span", { class: "mono" }, address)));
  const [own, balances, worker, seats, atts] = await Promise.all([
    get<{ ownerships: Ownership[] }>(`/protolearn/shares/v1/ownership/${address}`),
    get<{ balances: Coin[] }>(`/cosmos/bank/v1beta1/balances/${address}`),
    get<{ worker: { bonded: Coin; status: string; peer_id: string } }>(`/protolearn/compute/v1/workers/${address}`).catch(() => undefined),
    get<{ assignments: { model_id: string; stage: number }[] }>(`/protolearn/models/v1/assignments/${address}`).catch(() => undefined),
    all<Attestation>(`/protolearn/verify/v1/attestations?worker=${address}`, "attestations", 4, 200).catch(() => [] as Attestation[]),
  ]);
  const mine = current()?.address === address;
  const ownRows = own.ownerships.map((o) => [
    link(`#/models/${o.model_id}`, o.model_id), shares(o.balance), percent(o.fraction), learn(o.claimable),
    mine && o.claimable.amount !== "0" ? h("button", { class: "small", "data-claim": o.model_id, onclick: () => act(out, `Claim model ${o.model_id}'s revenue`, () =>
      send([{ typeUrl: claimRevenueType, value: { holder: address, modelIds: [BigInt(o.model_id)] } }])) }, "Claim") : "",
  ]);
  const ownTable = table(["Model", "Shares", "Fraction", "Claimable", ""], ownRows, "ownership");
  ownTable.querySelectorAll("tbody tr").forEach((tr, i) => {
    const o = own.ownerships[i];
    if (!o) return;
    tr.setAttribute("data-model", o.model_id);
    tr.setAttribute("data-fraction", o.fraction);
    tr.setAttribute("data-claimable", o.claimable.amount);
  });
  out.append(section("Shares and revenue", ownTable,
    h("p", {}, "Balances: ", balances.balances.map((b) => `${amount(b.amount, 6)} ${b.denom === "ulearn" ? "LEARN" : b.denom.replace("share/", "SHARE-")}`).join(", ") || "none")));
  if (mine) {
    const form = h("form", { class: "inline", "data-testid": "send-shares" },
      h("label", {}, "Send ", h("input", { name: "amount", type: "number", min: "0.000001", step: "0.000001", required: true })),
      h("label", {}, " shares of model ", h("input", { name: "model", type: "number", min: "1", required: true, size: 4 })),
      h("label", {}, " to ", h("input", { name: "to", placeholder: "learn1…", required: true, size: 44 })),
      h("button", { type: "submit" }, "Send"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = form.elements;
      const v = (f.namedItem("amount") as HTMLInputElement).value, model = (f.namedItem("model") as HTMLInputElement).value.trim(), to = (f.namedItem("to") as HTMLInputElement).value.trim();
      act(out, `Send ${v} shares of model ${model}`, async () => {
        if (!/^[1-9]\d*$/.test(model)) throw new Error(`model ${JSON.stringify(model)}: a model id (1, 2, …)`);
        return send([{ typeUrl: "/cosmos.bank.v1beta1.MsgSend", value: {
          fromAddress: address, toAddress: to, amount: [{ denom: `share/${model}`, amount: toBase(v) }] } }]);
      });
    });
    out.append(form);
  }
  out.append(section("Compute", worker
    ? h("p", { "data-testid": "stake" }, `Worker ${label(worker.worker.status, "WORKER_STATUS_")}, bonds ${learn(worker.worker.bonded)}, peer `, mono(worker.worker.peer_id, short(worker.worker.peer_id, 8)))
    : h("p", {}, "Not a registered worker."),
  seats && seats.assignments.length ? table(["Model", "Stage"], seats.assignments.map((a) => [link(`#/models/${a.model_id}`, a.model_id), a.stage]), "seats") : null));
  const attRows = atts.slice(0, 200).map((a) => [a.id, link(`#/models/${a.model_id}`, a.model_id), a.stage, `${a.step_from}–${a.step_to}`, a.work_units,
    label(a.status, "ATTESTATION_STATUS_"), a.void_reason || ""]);
  out.append(section("Attestations", table(["Id", "Model", "Stage", "Steps", "Work units", "Status", "Why void"], attRows, "attestations")));
  return out;
}

export async function challengesView(): Promise<HTMLElement> {
  const list = await all<Challenge>("/protolearn/verify/v1/challenges", "challenges");
  const row = (c: Challenge) => [c.id, c.attestation_id, addr(c.worker), c.challenger ? addr(c.challenger) : "spot check", label(c.kind, "CHALLENGE_KIND_"),
    label(c.status, "CHALLENGE_STATUS_"), c.deadline_height, c.slashed?.amount && c.slashed.amount !== "0" ? learn(c.slashed) : ""];
  const headers = ["Id", "Attestation", "Worker", "By", "Kind", "Status", "Deadline", "Slashed"];
  const open = list.filter((c) => c.status === "CHALLENGE_STATUS_OPEN");
  const settled = list.filter((c) => c.status !== "CHALLENGE_STATUS_OPEN").reverse();
  return h("div", {}, section("Open challenges", table(headers, open.map(row), "challenges-open")),
    section("Settled challenges", table(headers, settled.slice(0, 200).map(row), "challenges-settled")));
}

// toBase turns a decimal amount of a 6-decimal token into base units; anything but a positive
// amount with at most six decimals is refused, never rounded.
export function toBase(v: string): string {
  const s = v.trim();
  if (!/^\d+(\.\d{1,6})?$/.test(s)) throw new Error(`amount ${JSON.stringify(v)}: a positive number with at most 6 decimals`);
  const [w, f = ""] = s.split(".");
  const base = BigInt(w) * 1_000_000n + BigInt((f + "000000").slice(0, 6));
  if (base === 0n) throw new Error(`amount ${JSON.stringify(v)}: more than zero`);
  return base.toString();
}

// flash is what the last wallet action did: the next rendering of a view shows it on top.
let flash: HTMLElement | undefined;

export function takeFlash(): HTMLElement | undefined {
  const f = flash;
  flash = undefined;
  return f;
}

// act runs a wallet action, saying so at the top of the view, then renders the view again (the
// chain has changed) with what happened on top.
async function act(view: HTMLElement, what: string, f: () => Promise<{ transactionHash: string }>) {
  const note = h("div", { class: "note", role: "status" }, `${what}: signing…`);
  view.prepend(note);
  try {
    const res = await f();
    flash = h("div", { class: "note", role: "status", "data-done": res.transactionHash }, `${what}: done (tx ${res.transactionHash.slice(0, 12)}…)`);
  } catch (err) {
    flash = errorBox(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
