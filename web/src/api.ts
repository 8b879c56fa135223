// The node's REST (gRPC-gateway) answers, and where they are: protolearnd web serves the
// endpoints in /config.json and the chain's registry files under /registry/.

export interface Config {
  chainId: string;
  chainName: string;
  rest: string;
  rpc: string;
  prometheus?: string;
}

let config: Config | undefined;

export async function loadConfig(): Promise<Config> {
  if (!config) {
    const res = await fetch("config.json");
    if (!res.ok) throw new Error(`config.json: ${res.status}`);
    config = (await res.json()) as Config;
  }
  return config;
}

// get fetches a REST path of the node, as JSON; an error says which path and why.
export async function get<T>(path: string): Promise<T> {
  const c = await loadConfig();
  const res = await fetch(c.rest.replace(/\/$/, "") + path);
  const body = await res.text();
  if (!res.ok) {
    let msg = body;
    try {
      msg = JSON.parse(body).message ?? body;
    } catch {
      /* not JSON */
    }
    throw new Error(`${path}: ${res.status} ${msg}`);
  }
  return JSON.parse(body) as T;
}

// all follows a paginated list to its end, or to max items. perPage is small for records as
// large as attestations (their commitments and sends): the node's gateway answers at most 4 MiB.
export async function all<T>(path: string, field: string, perPage = 200, max = Infinity): Promise<T[]> {
  const out: T[] = [];
  let key = "";
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get<Record<string, unknown>>(`${path}${sep}pagination.limit=${perPage}${key ? "&pagination.key=" + encodeURIComponent(key) : ""}`);
    out.push(...((page[field] as T[]) ?? []));
    const next = (page.pagination as { next_key?: string } | undefined)?.next_key;
    if (!next || out.length >= max) return out.slice(0, max);
    key = next;
  }
}

export interface Coin {
  denom: string;
  amount: string;
}

export interface Model {
  id: string;
  name: string;
  designer: string;
  status: string;
  stages: { layers: number }[];
  target_work_units: string;
  work_units: string;
  max_replicas_per_stage: number;
  min_stake: Coin;
  designer_bps: number;
  parent_id: string;
  parent_bps: number;
}

export interface Replica {
  operator: string;
  peer_id: string;
  bonded: Coin;
  has_checkpoint: boolean;
  checkpoint_step: string;
  checkpoint_root: string;
}

export interface StageCheckpoint {
  stage: number;
  latest_step: string;
  weights_root: string;
  agreeing_replicas: number;
  committed_replicas: number;
  total_replicas: number;
}

export interface Holder {
  address: string;
  balance: Coin;
}

export interface Ownership {
  model_id: string;
  balance: Coin;
  fraction: string;
  claimable: Coin;
}

export interface Attestation {
  id: string;
  worker: string;
  model_id: string;
  stage: number;
  step_from: string;
  step_to: string;
  work_units: string;
  status: string;
  void_reason: string;
  submitted_height: string;
}

export interface Challenge {
  id: string;
  attestation_id: string;
  worker: string;
  challenger: string;
  kind: string;
  status: string;
  deadline_height: string;
  slashed: Coin;
}

export interface Proposal {
  id: string;
  model_id: string;
  proposer: string;
  action: { type: string };
  status: string;
  voting_end_height: string;
  result: string;
  summary: string;
}

// short shortens an address, a peer id or a hash for a table cell; the title keeps the whole.
export function short(s: string, keep = 8): string {
  if (!s || s.length <= 2 * keep + 1) return s ?? "";
  return `${s.slice(0, keep)}…${s.slice(-keep)}`;
}

// hex is a base64 REST bytes field as hex.
export function hex(b64: string): string {
  if (!b64) return "";
  return Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

// label is an enum value without its prefix, in words: MODEL_STATUS_TRAINING → training.
export function label(v: string, prefix: string): string {
  return (v ?? "").replace(prefix, "").toLowerCase().replace(/_/g, " ");
}
