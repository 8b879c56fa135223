package keeper_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/log"
	sdkmath "cosmossdk.io/math"
	storetypes "cosmossdk.io/store/types"

	"github.com/cosmos/cosmos-sdk/codec"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/testutil"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/protolearn/protolearn/x/anchor/keeper"
	"github.com/protolearn/protolearn/x/anchor/merkle"
	"github.com/protolearn/protolearn/x/anchor/types"
)

// fakeBank holds share/1 balances.
type fakeBank struct{ bal map[string]sdkmath.Int }

func (b *fakeBank) GetBalance(_ context.Context, addr sdk.AccAddress, denom string) sdk.Coin {
	if v, ok := b.bal[string(addr)]; ok {
		return sdk.NewCoin(denom, v)
	}
	return sdk.NewCoin(denom, sdkmath.ZeroInt())
}

func (b *fakeBank) IterateAllBalances(context.Context, func(sdk.AccAddress, sdk.Coin) bool) {}

// fakeStaking is one bonded validator of power 1.
type fakeStaking struct{ val stakingtypes.Validator }

func (s fakeStaking) ValidatorAddressCodec() address.Codec {
	return addresscodec.NewBech32Codec("learnvaloper")
}

func (s fakeStaking) GetValidator(context.Context, sdk.ValAddress) (stakingtypes.Validator, error) {
	return s.val, nil
}

func (s fakeStaking) GetValidatorByConsAddr(context.Context, sdk.ConsAddress) (stakingtypes.Validator, error) {
	return s.val, nil
}

func (s fakeStaking) IterateBondedValidatorsByPower(_ context.Context, fn func(int64, stakingtypes.ValidatorI) bool) error {
	fn(0, s.val)
	return nil
}
func (s fakeStaking) PowerReduction(context.Context) sdkmath.Int { return sdk.DefaultPowerReduction }

type fakeAuth struct{}

func (fakeAuth) AddressCodec() address.Codec { return addresscodec.NewBech32Codec("learn") }

type fixture struct {
	cms    interface{ Commit() storetypes.CommitID }
	k      *keeper.Keeper
	ctx    sdk.Context
	bank   *fakeBank
	height int64
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	key := storetypes.NewKVStoreKey(types.StoreKey)
	tctx := testutil.DefaultContextWithDB(tb, key, storetypes.NewTransientStoreKey("t"))
	cdc := codec.NewProtoCodec(codectypes.NewInterfaceRegistry())
	op := sdk.ValAddress(make([]byte, 20))
	opStr, err := fakeStaking{}.ValidatorAddressCodec().BytesToString(op)
	if err != nil {
		tb.Fatal(err)
	}
	val := stakingtypes.Validator{OperatorAddress: opStr, Status: stakingtypes.Bonded, Tokens: sdk.DefaultPowerReduction}
	bank := &fakeBank{bal: map[string]sdkmath.Int{}}
	authority := authtypes.NewModuleAddress("gov")
	auth, _ := fakeAuth{}.AddressCodec().BytesToString(authority)
	k := keeper.NewKeeper(cdc, runtime.NewKVStoreService(key), fakeAuth{}, bank, fakeStaking{val: val}, auth, log.NewNopLogger())
	ctx := tctx.Ctx.WithChainID("protolearn-local-1")
	if err := k.Params.Set(ctx, types.Params{AnchorInterval: 1, CheckpointsKept: 5}); err != nil {
		tb.Fatal(err)
	}
	ethKey, err := crypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	if err := k.Keys.Set(ctx, op, crypto.PubkeyToAddress(ethKey.PublicKey).Bytes()); err != nil {
		tb.Fatal(err)
	}
	return &fixture{cms: tctx.CMS, k: k, ctx: ctx, bank: bank}
}

// set changes a holder's balance as a bank send would, and marks it pending as x/shares does.
func (f *fixture) set(tb testing.TB, holder []byte, amount int64) {
	f.bank.bal[string(holder)] = sdkmath.NewInt(amount)
	if err := f.k.AfterShareBalanceMoved(f.ctx, 1, holder); err != nil {
		tb.Fatal(err)
	}
}

// checkpoint runs EndBlock at the next height and commits the store, as a block does (IAVL
// iterators over a large uncommitted tree would cost O(n)).
func (f *fixture) checkpoint(tb testing.TB) types.Checkpoint {
	tb.Helper()
	f.height++
	f.ctx = f.ctx.WithBlockHeight(f.height)
	if err := f.k.EndBlock(f.ctx); err != nil {
		tb.Fatal(err)
	}
	f.cms.Commit()
	c, ok, err := f.k.Latest(f.ctx)
	if err != nil || !ok {
		tb.Fatalf("no checkpoint: %v", err)
	}
	return c
}

func holders(n int, seed uint64) [][]byte {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	hs := make([][]byte, n)
	for i := range hs {
		h := make([]byte, 20)
		for j := range h {
			h[j] = byte(rng.Uint32())
		}
		hs[i] = h
	}
	return hs
}

// The stored share tree after a history of checkpoints has the root of a tree built fresh from
// the final balances, so every validator agrees whatever its history; holders that sell out
// leave it; a checkpoint is taken only when something changed.
func TestStoredTreeMatchesFreshTree(t *testing.T) {
	f := newFixture(t)
	hs := holders(200, 3)
	rng := rand.New(rand.NewPCG(5, 6))
	final := map[string]int64{}
	for round := range 6 {
		for range 60 {
			h := hs[rng.IntN(len(hs))]
			v := int64(rng.IntN(4)) * 1000 // zero a quarter of the time: the holder sold out
			f.set(t, h, v)
			final[string(h)] = v
		}
		c := f.checkpoint(t)
		if c.Height != uint64(f.height) {
			t.Fatalf("round %d: checkpoint at %d, want %d", round, c.Height, f.height)
		}
	}
	fresh := merkle.NewTreap(1)
	held := 0
	for h, v := range final {
		if v > 0 {
			held++
			if err := fresh.Set([]byte(h), big.NewInt(v)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want, err := fresh.Root()
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := f.k.Latest(f.ctx)
	if len(c.Models) != 1 || [32]byte(c.Models[0].Root) != want || c.Models[0].Holders != uint64(held) {
		t.Fatalf("stored tree: %x with %d holders, fresh tree: %x with %d", c.Models[0].Root, c.Models[0].Holders, want, held)
	}
	models := merkle.Build([]merkle.Hash{merkle.ModelLeaf(1, want)})
	if [32]byte(c.ModelsRoot) != models.Root() {
		t.Fatal("models root is not the tree of the model roots")
	}
	n := 0
	if err := f.k.Nodes.Walk(f.ctx, nil, func(collections.Pair[uint64, []byte], types.TreapNode) (bool, error) {
		n++
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != held {
		t.Fatalf("%d stored nodes for %d holders: sold-out holders must leave the store", n, held)
	}
	// Nothing changed: no new checkpoint.
	f.height++
	f.ctx = f.ctx.WithBlockHeight(f.height)
	if err := f.k.EndBlock(f.ctx); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := f.k.Latest(f.ctx); again.Height != c.Height {
		t.Fatalf("a checkpoint at %d with nothing changed", again.Height)
	}
	// Only the latest checkpoints_kept (5) remain.
	kept := 0
	_ = f.k.Checkpoints.Walk(f.ctx, nil, func(uint64, types.Checkpoint) (bool, error) { kept++; return false, nil })
	if kept != 5 {
		t.Fatalf("%d checkpoints kept, want 5", kept)
	}
}

// BenchmarkCheckpoint is the EndBlock cost of a checkpoint in a model with 1,000 and 100,000
// holders, for 1 and 100 holders changed since the last one, with the IAVL commit of what it
// wrote.
func BenchmarkCheckpoint(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		for _, changed := range []int{1, 100} {
			b.Run(fmt.Sprintf("holders=%d/changed=%d", n, changed), func(b *testing.B) {
				f := newFixture(b)
				hs := holders(n, 9)
				for i, h := range hs {
					f.set(b, h, int64(i)+1)
				}
				f.checkpoint(b) // every holder new: the first checkpoint
				rng := rand.New(rand.NewPCG(1, 1))
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					for range changed {
						f.set(b, hs[rng.IntN(n)], int64(rng.Uint32())+1)
					}
					b.StartTimer()
					f.checkpoint(b)
				}
			})
		}
	}
}
