package chaincfg

import (
	"fmt"

	"cosmossdk.io/x/tx/signing"
	"github.com/cosmos/gogoproto/proto"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/std"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"

	inferencetypes "github.com/protolearn/protolearn/x/inference/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// NewInterfaceRegistry is an empty interface registry that extracts signers with the chain's
// bech32 prefixes: the chain application registers every module's types in it, a client only
// those it uses.
func NewInterfaceRegistry() (codectypes.InterfaceRegistry, error) {
	reg, err := codectypes.NewInterfaceRegistryWithOptions(codectypes.InterfaceRegistryOptions{
		ProtoFiles: proto.HybridResolver,
		SigningOptions: signing.Options{
			AddressCodec:          addresscodec.NewBech32Codec(Bech32Prefix),
			ValidatorAddressCodec: addresscodec.NewBech32Codec(Bech32PrefixValAddr),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("chaincfg: interface registry: %w", err)
	}
	if err := reg.SigningContext().Validate(); err != nil {
		return nil, fmt.Errorf("chaincfg: signing context: %w", err)
	}
	return reg, nil
}

// Encoding is a codec and tx config.
type Encoding struct {
	InterfaceRegistry codectypes.InterfaceRegistry
	Codec             codec.Codec
	TxConfig          client.TxConfig
}

// TrainerEncoding is the encoding a trainer needs, and no more: the accounts it reads (its hot
// key's), authz's MsgExec that wraps every message it sends for its operator, and the x/verify and
// x/models messages inside (attestations, challenge answers, seats, checkpoints). Building it
// needs no chain application.
func TrainerEncoding() (Encoding, error) {
	reg, err := NewInterfaceRegistry()
	if err != nil {
		return Encoding{}, err
	}
	std.RegisterInterfaces(reg)
	authtypes.RegisterInterfaces(reg)
	authz.RegisterInterfaces(reg)
	verifytypes.RegisterInterfaces(reg)
	modelstypes.RegisterInterfaces(reg)
	inferencetypes.RegisterInterfaces(reg)
	cdc := codec.NewProtoCodec(reg)
	return Encoding{InterfaceRegistry: reg, Codec: cdc, TxConfig: authtx.NewTxConfig(cdc, authtx.DefaultSignModes)}, nil
}
