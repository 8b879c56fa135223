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
	legacy.RegisterAminoMsg(cdc, &MsgSubmitAttestation{}, "protolearn/verify/MsgSubmitAttestation")
	legacy.RegisterAminoMsg(cdc, &MsgOpenChallenge{}, "protolearn/verify/MsgOpenChallenge")
	legacy.RegisterAminoMsg(cdc, &MsgRespondChallenge{}, "protolearn/verify/MsgRespondChallenge")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "protolearn/x/verify/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "protolearn/x/verify/Params", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgSubmitAttestation{}, &MsgOpenChallenge{}, &MsgRespondChallenge{}, &MsgUpdateParams{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
