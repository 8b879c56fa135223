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
	legacy.RegisterAminoMsg(cdc, &MsgPropose{}, "protolearn/modelgov/MsgPropose")
	legacy.RegisterAminoMsg(cdc, &MsgVote{}, "protolearn/modelgov/MsgVote")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "protolearn/x/modelgov/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "protolearn/x/modelgov/Params", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil), &MsgPropose{}, &MsgVote{}, &MsgUpdateParams{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
