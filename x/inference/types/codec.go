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
	legacy.RegisterAminoMsg(cdc, &MsgSetPrice{}, "protolearn/inference/MsgSetPrice")
	legacy.RegisterAminoMsg(cdc, &MsgDeposit{}, "protolearn/inference/MsgDeposit")
	legacy.RegisterAminoMsg(cdc, &MsgSettle{}, "protolearn/inference/MsgSettle")
	legacy.RegisterAminoMsg(cdc, &MsgWithdraw{}, "protolearn/inference/MsgWithdraw")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "protolearn/x/inference/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "protolearn/x/inference/Params", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil), &MsgSetPrice{}, &MsgDeposit{}, &MsgSettle{}, &MsgWithdraw{}, &MsgUpdateParams{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
