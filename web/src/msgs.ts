// The protolearn messages the web app signs, encoded as their protos define them
// (proto/protolearn/*/v1/tx.proto): CosmJS signs any message whose type URL its registry maps to
// an encoder. Field numbers are the protos'; a test signs each through the page (node/e2e).
import { BinaryReader, BinaryWriter } from "cosmjs-types/binary";
import { Coin } from "cosmjs-types/cosmos/base/v1beta1/coin";
import type { GeneratedType } from "@cosmjs/proto-signing";

export interface MsgClaimRevenue {
  holder: string;
  modelIds: bigint[];
}
export interface MsgDeposit {
  customer: string;
  modelId: bigint;
  amount: Coin;
  // maxPricePer1kTokens refuses the deposit if the price changed above what the page showed.
  maxPricePer1kTokens?: Coin;
}
export interface MsgVote {
  voter: string;
  proposalId: bigint;
  option: number; // 1 yes, 2 no, 3 abstain (modelgov VoteOption)
}

// generated builds the GeneratedType CosmJS's registry takes from an encoder.
function generated<T>(encode: (m: T, w: BinaryWriter) => void, empty: () => T): GeneratedType {
  return {
    encode(m: T, w: BinaryWriter = BinaryWriter.create()) {
      encode(m, w);
      return w;
    },
    decode(_input: Uint8Array | BinaryReader): T {
      throw new Error("protolearn web: decoding is not needed to sign");
    },
    fromPartial(p: Partial<T>): T {
      return { ...empty(), ...p };
    },
  } as unknown as GeneratedType;
}

export const claimRevenueType = "/protolearn.shares.v1.MsgClaimRevenue";
export const depositType = "/protolearn.inference.v1.MsgDeposit";
export const voteType = "/protolearn.modelgov.v1.MsgVote";

export const protolearnTypes: ReadonlyArray<[string, GeneratedType]> = [
  [
    claimRevenueType,
    generated<MsgClaimRevenue>(
      (m, w) => {
        if (m.holder) w.uint32(10).string(m.holder);
        if (m.modelIds.length > 0) {
          w.uint32(18).fork(); // packed repeated uint64
          for (const id of m.modelIds) w.uint64(id);
          w.ldelim();
        }
      },
      () => ({ holder: "", modelIds: [] }),
    ),
  ],
  [
    depositType,
    generated<MsgDeposit>(
      (m, w) => {
        if (m.customer) w.uint32(10).string(m.customer);
        if (m.modelId !== 0n) w.uint32(16).uint64(m.modelId);
        Coin.encode(m.amount, w.uint32(26).fork()).ldelim();
        if (m.maxPricePer1kTokens) Coin.encode(m.maxPricePer1kTokens, w.uint32(50).fork()).ldelim();
      },
      () => ({ customer: "", modelId: 0n, amount: { denom: "", amount: "0" } }),
    ),
  ],
  [
    voteType,
    generated<MsgVote>(
      (m, w) => {
        if (m.voter) w.uint32(10).string(m.voter);
        if (m.proposalId !== 0n) w.uint32(16).uint64(m.proposalId);
        if (m.option !== 0) w.uint32(24).int32(m.option);
      },
      () => ({ voter: "", proposalId: 0n, option: 0 }),
    ),
  ],
];
