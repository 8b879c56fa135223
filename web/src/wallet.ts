// The Keplr wallet: the chain is suggested to Keplr (experimentalSuggestChain) from the same
// description protolearnd registry writes (chain.json and assetlist.json, served live by
// protolearnd web), and transactions are signed by Keplr's signer through CosmJS.
import { Registry } from "@cosmjs/proto-signing";
import type { OfflineSigner } from "@cosmjs/proto-signing";
import { GasPrice, SigningStargateClient, defaultRegistryTypes } from "@cosmjs/stargate";
import type { DeliverTxResponse } from "@cosmjs/stargate";
import type { ChainInfo, Keplr } from "@keplr-wallet/types";
import { loadConfig } from "./api";
import { protolearnTypes } from "./msgs";

interface RegistryChain {
  chain_id: string;
  pretty_name: string;
  bech32_prefix: string;
  slip44: number;
  fees: { fee_tokens: { denom: string; low_gas_price?: number; average_gas_price?: number; high_gas_price?: number }[] };
  staking: { staking_tokens: { denom: string }[] };
  apis: { rpc: { address: string }[]; rest: { address: string }[] };
}

interface RegistryAsset {
  base: string;
  display: string;
  symbol: string;
  denom_units: { denom: string; exponent: number }[];
}

// chainInfo is Keplr's ChainInfo from chain.json and assetlist.json.
export function chainInfo(chain: RegistryChain, assets: RegistryAsset[]): ChainInfo {
  const currency = (base: string) => {
    const a = assets.find((x) => x.base === base);
    if (!a) throw new Error(`assetlist.json has no ${base}`);
    const display = a.denom_units.find((u) => u.denom === a.display);
    return { coinDenom: a.symbol, coinMinimalDenom: a.base, coinDecimals: display?.exponent ?? 0 };
  };
  const fee = chain.fees.fee_tokens[0];
  const p = chain.bech32_prefix;
  return {
    chainId: chain.chain_id,
    chainName: chain.pretty_name,
    rpc: chain.apis.rpc[0].address,
    rest: chain.apis.rest[0].address,
    bip44: { coinType: chain.slip44 },
    bech32Config: {
      bech32PrefixAccAddr: p, bech32PrefixAccPub: p + "pub", bech32PrefixValAddr: p + "valoper",
      bech32PrefixValPub: p + "valoperpub", bech32PrefixConsAddr: p + "valcons", bech32PrefixConsPub: p + "valconspub",
    },
    currencies: assets.map((a) => currency(a.base)),
    feeCurrencies: [{ ...currency(fee.denom), gasPriceStep: { low: fee.low_gas_price ?? 0, average: fee.average_gas_price ?? 0.025, high: fee.high_gas_price ?? 0.04 } }],
    stakeCurrency: currency(chain.staking.staking_tokens[0].denom),
    features: [],
  } as ChainInfo;
}

export interface Wallet {
  address: string;
  client: SigningStargateClient;
  feeDenom: string;
}

let wallet: Wallet | undefined;
const listeners: ((w: Wallet | undefined) => void)[] = [];

export function current(): Wallet | undefined {
  return wallet;
}

export function onChange(f: (w: Wallet | undefined) => void) {
  listeners.push(f);
}

declare global {
  interface Window {
    keplr?: Keplr;
  }
}

// remembered marks a browser that connected Keplr before: the app reconnects on load.
const remembered = "protolearn.wallet";

// reconnect connects again if this browser connected before and Keplr is there.
export async function reconnect(): Promise<void> {
  if (localStorage.getItem(remembered) && window.keplr) await connect();
}

// connect suggests the chain to Keplr, asks it for the account and makes a signing client.
export async function connect(): Promise<Wallet> {
  const keplr = window.keplr;
  if (!keplr) throw new Error("Keplr is not installed in this browser: install the Keplr extension, then reload");
  const [chain, assets] = await Promise.all([
    fetch("registry/chain.json").then((r) => (r.ok ? r.json() : Promise.reject(new Error(`registry/chain.json: ${r.status}`)))),
    fetch("registry/assetlist.json").then((r) => (r.ok ? r.json() : Promise.reject(new Error(`registry/assetlist.json: ${r.status}`)))),
  ]);
  const info = chainInfo(chain as RegistryChain, (assets as { assets: RegistryAsset[] }).assets);
  await keplr.experimentalSuggestChain(info);
  await keplr.enable(info.chainId);
  const signer = keplr.getOfflineSigner(info.chainId) as unknown as OfflineSigner;
  const [account] = await signer.getAccounts();
  const cfg = await loadConfig();
  const fee = info.feeCurrencies[0];
  const client = await SigningStargateClient.connectWithSigner(cfg.rpc, signer, {
    registry: new Registry([...defaultRegistryTypes, ...protolearnTypes]),
    gasPrice: GasPrice.fromString(`${fee.gasPriceStep?.average ?? 0}${fee.coinMinimalDenom}`),
  });
  wallet = { address: account.address, client, feeDenom: fee.coinMinimalDenom };
  localStorage.setItem(remembered, "keplr");
  listeners.forEach((f) => f(wallet));
  return wallet;
}

// send signs and broadcasts msgs with the connected wallet (gas estimated, 1.5× margin) and
// fails with the chain's reason when refused.
export async function send(msgs: { typeUrl: string; value: unknown }[], memo = ""): Promise<DeliverTxResponse> {
  const w = wallet ?? (await connect());
  const res = await w.client.signAndBroadcast(w.address, msgs, 1.5, memo);
  if (res.code !== 0) throw new Error(`refused (code ${res.code}): ${res.rawLog ?? ""}`);
  return res;
}
