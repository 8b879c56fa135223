package chain

import (
	"context"
	"fmt"
	"time"

	"cosmossdk.io/x/feegrant"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	computetypes "github.com/protolearn/protolearn/x/compute/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// What `trainer doctor` asks the chain about a trainer's set-up.

// NodeChainID is the chain id the node says it runs.
func (c *Client) NodeChainID(ctx context.Context) (string, error) {
	res, err := cmtservice.NewServiceClient(c.conn).GetNodeInfo(ctx, &cmtservice.GetNodeInfoRequest{})
	if err != nil {
		return "", fmt.Errorf("chain: node info: %w", err)
	}
	return res.DefaultNodeInfo.Network, nil
}

// Worker is the operator's registration in x/compute (ok false: not registered).
func (c *Client) Worker(ctx context.Context, operator string) (computetypes.Worker, bool, error) {
	res, err := computetypes.NewQueryClient(c.conn).Worker(ctx, &computetypes.QueryWorkerRequest{Operator: operator})
	if status.Code(err) == codes.NotFound {
		return computetypes.Worker{}, false, nil
	}
	if err != nil {
		return computetypes.Worker{}, false, fmt.Errorf("chain: the worker of %s: %w", operator, err)
	}
	return res.Worker, true, nil
}

// Grant is one authz grant of the operator to the hot key: the message it allows, until when,
// and, for a seat's messages (x/verify SeatAuthorization), the model and stage it is scoped to.
type Grant struct {
	MsgTypeURL string
	Expiration *time.Time
	Seat       *verifytypes.SeatAuthorization
}

// HotKeyGrants are the operator's authz grants to the hot key.
func (c *Client) HotKeyGrants(ctx context.Context) ([]Grant, error) {
	res, err := authz.NewQueryClient(c.conn).Grants(ctx, &authz.QueryGrantsRequest{Granter: c.cfg.Operator, Grantee: c.hot.String()})
	if err != nil {
		return nil, fmt.Errorf("chain: grants of %s to %s: %w", c.cfg.Operator, c.hot, err)
	}
	var out []Grant
	for _, g := range res.Grants {
		var a authz.Authorization
		if err := c.enc.InterfaceRegistry.UnpackAny(g.Authorization, &a); err != nil {
			return nil, fmt.Errorf("chain: a grant to %s: %w", c.hot, err)
		}
		gr := Grant{MsgTypeURL: a.MsgTypeURL(), Expiration: g.Expiration}
		if seat, ok := a.(*verifytypes.SeatAuthorization); ok {
			gr.Seat = seat
		}
		out = append(out, gr)
	}
	return out, nil
}

// HasFeeAllowance says whether the operator pays the hot key's fees (x/feegrant).
func (c *Client) HasFeeAllowance(ctx context.Context) (bool, error) {
	_, err := feegrant.NewQueryClient(c.conn).Allowance(ctx, &feegrant.QueryAllowanceRequest{Granter: c.cfg.Operator, Grantee: c.hot.String()})
	switch {
	case err == nil:
		return true, nil
	case status.Code(err) == codes.NotFound || status.Code(err) == codes.InvalidArgument:
		return false, nil
	}
	return false, fmt.Errorf("chain: fee allowance of %s to %s: %w", c.cfg.Operator, c.hot, err)
}

// HotKeyHasAccount says whether the hot key's account exists (it needs one to sign).
func (c *Client) HotKeyHasAccount(ctx context.Context) (bool, error) {
	_, err := authtypes.NewQueryClient(c.conn).Account(ctx, &authtypes.QueryAccountRequest{Address: c.hot.String()})
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("chain: account of %s: %w", c.hot, err)
	}
	return true, nil
}
