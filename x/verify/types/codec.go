package types

import (
	"cosmossdk.io/x/feegrant"

	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
	"github.com/cosmos/cosmos-sdk/x/authz"
)

// RegisterLegacyAminoCodec registers the messages for amino JSON signing (Ledger).
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgSubmitAttestation{}, "protolearn/verify/MsgSubmitAttestation")
	legacy.RegisterAminoMsg(cdc, &MsgOpenChallenge{}, "protolearn/verify/MsgOpenChallenge")
	legacy.RegisterAminoMsg(cdc, &MsgRespondChallenge{}, "protolearn/verify/MsgRespondChallenge")
	legacy.RegisterAminoMsg(cdc, &MsgOpenDispute{}, "protolearn/verify/MsgOpenDispute")
	legacy.RegisterAminoMsg(cdc, &MsgDisputeClaim{}, "protolearn/verify/MsgDisputeClaim")
	legacy.RegisterAminoMsg(cdc, &MsgDisputeRespond{}, "protolearn/verify/MsgDisputeRespond")
	legacy.RegisterAminoMsg(cdc, &MsgRequestLog{}, "protolearn/verify/MsgRequestLog")
	legacy.RegisterAminoMsg(cdc, &MsgReportEquivocation{}, "protolearn/verify/MsgReportEquivocation")
	legacy.RegisterAminoMsg(cdc, &MsgAnswerLogRequest{}, "protolearn/verify/MsgAnswerLogRequest")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "protolearn/x/verify/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "protolearn/x/verify/Params", nil)
	cdc.RegisterConcrete(&SeatAuthorization{}, "protolearn/verify/SeatAuthorization", nil)
	cdc.RegisterConcrete(&DisputeAuthorization{}, "protolearn/verify/DisputeAuthorization", nil)
	cdc.RegisterConcrete(&TrainerAllowance{}, "protolearn/verify/TrainerAllowance", nil)
}

// RegisterInterfaces registers the messages with the interface registry.
func RegisterInterfaces(registry codectypes.InterfaceRegistry) {
	registry.RegisterImplementations((*sdk.Msg)(nil),
		&MsgSubmitAttestation{}, &MsgOpenChallenge{}, &MsgRespondChallenge{}, &MsgUpdateParams{},
		&MsgOpenDispute{}, &MsgDisputeClaim{}, &MsgDisputeRespond{}, &MsgRequestLog{}, &MsgAnswerLogRequest{}, &MsgReportEquivocation{})
	registry.RegisterImplementations((*authz.Authorization)(nil), &SeatAuthorization{}, &DisputeAuthorization{})
	registry.RegisterImplementations((*feegrant.FeeAllowanceI)(nil), &TrainerAllowance{})
	msgservice.RegisterMsgServiceDesc(registry, &_Msg_serviceDesc)
}
