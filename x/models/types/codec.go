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
	legacy.RegisterAminoMsg(cdc, &MsgCreateModel{}, "protolearn/models/MsgCreateModel")
	legacy.RegisterAminoMsg(cdc, &MsgCancelModel{}, "protolearn/models/MsgCancelModel")
	legacy.RegisterAminoMsg(cdc, &MsgJoinStage{}, "protolearn/models/MsgJoinStage")
	legacy.RegisterAminoMsg(cdc, &MsgLeaveStage{}, "protolearn/models/MsgLeaveStage")
	legacy.RegisterAminoMsg(cdc, &MsgCommitCheckpoint{}, "protolearn/models/MsgCommitCheckpoint")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "protolearn/x/models/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "protolearn/x/models/Params", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgCreateModel{},
		&MsgCancelModel{},
		&MsgJoinStage{},
		&MsgLeaveStage{},
		&MsgCommitCheckpoint{},
		&MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
