package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (Ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgRegisterWorker{}, "protolearn/compute/MsgRegisterWorker")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateWorker{}, "protolearn/compute/MsgUpdateWorker")
	legacy.RegisterAminoMsg(cdc, &MsgAddStake{}, "protolearn/compute/MsgAddStake")
	legacy.RegisterAminoMsg(cdc, &MsgBeginUnbonding{}, "protolearn/compute/MsgBeginUnbonding")
	legacy.RegisterAminoMsg(cdc, &MsgUnjail{}, "protolearn/compute/MsgUnjail")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "protolearn/x/compute/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "protolearn/x/compute/Params", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgRegisterWorker{},
		&MsgUpdateWorker{},
		&MsgAddStake{},
		&MsgBeginUnbonding{},
		&MsgUnjail{},
		&MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
