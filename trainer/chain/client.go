// Package chain is the trainer's client of the protolearn chain: it reads the model spec, the
// stage roster and x/verify's state over gRPC, watches CometBFT events, and posts the trainer's
// transactions signed by a hot key that the operator authorized with x/authz (fees paid by the
// operator through x/feegrant), retrying what is safe to retry.
package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	sdkmath "cosmossdk.io/math"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	grpctypes "github.com/cosmos/cosmos-sdk/types/grpc"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/protolearn/protolearn/chaincfg"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Config says how to reach the chain and who signs.
type Config struct {
	// GRPC is the node's gRPC address, host:port.
	GRPC    string
	ChainID string
	// HotKey signs every transaction; it acts for Operator through authz grants (Exec). Without
	// an Operator the client signs for the key's own account, which pays the fees (Submit): a
	// gateway settling receipts.
	HotKey   *secp256k1.PrivKey
	Operator string
	// GasPrice is the fee per unit of gas, e.g. 0ulearn (paid by the operator's feegrant).
	GasPrice sdk.DecCoin
	Log      *slog.Logger
}

// Client talks to one node.
type Client struct {
	cfg  Config
	conn *grpc.ClientConn
	enc  chaincfg.Encoding
	hot  sdk.AccAddress
	op   sdk.AccAddress

	// txMu guards the account number and the last unordered timeout (the signer's nonce).
	txMu        sync.Mutex
	acct        uint64
	haveAcct    bool
	lastTimeout time.Time
}

// Dial connects to cfg.GRPC; the connection is lazy, so a node that is not up yet is retried by
// each call.
func Dial(cfg Config) (*Client, error) {
	if cfg.HotKey == nil || cfg.ChainID == "" || cfg.GRPC == "" {
		return nil, errors.New("chain: gRPC address, chain id and key are required")
	}
	var op sdk.AccAddress
	if cfg.Operator != "" {
		var err error
		if op, err = sdk.AccAddressFromBech32(cfg.Operator); err != nil {
			return nil, fmt.Errorf("chain: operator %q: %w", cfg.Operator, err)
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.GasPrice.Denom == "" {
		cfg.GasPrice = sdk.NewDecCoin(chaincfg.BondDenom, sdkmath.ZeroInt())
	}
	enc, err := chaincfg.TrainerEncoding()
	if err != nil {
		return nil, err
	}
	// Pending attestations carry their commitments and sends: a page of them may exceed gRPC's
	// 4 MiB default.
	conn, err := grpc.NewClient(cfg.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecv)))
	if err != nil {
		return nil, fmt.Errorf("chain: dialing %s: %w", cfg.GRPC, err)
	}
	return &Client{cfg: cfg, conn: conn, enc: enc, hot: sdk.AccAddress(cfg.HotKey.PubKey().Address()), op: op}, nil
}

// maxRecv bounds a query answer the client takes: 20 attestations of the largest (x/verify
// MaxSends sends, about 700 KB) with room to spare.
const maxRecv = 64 << 20

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// HotAddress is the hot key's account address.
func (c *Client) HotAddress() sdk.AccAddress { return c.hot }

// Model returns model id.
func (c *Client) Model(ctx context.Context, id uint64) (modelstypes.Model, error) {
	res, err := modelstypes.NewQueryClient(c.conn).Model(ctx, &modelstypes.QueryModelRequest{Id: id})
	if err != nil {
		return modelstypes.Model{}, fmt.Errorf("chain: model %d: %w", id, err)
	}
	return res.Model, nil
}

// StageOf returns the stage the operator holds in model id.
func (c *Client) StageOf(ctx context.Context, modelID uint64) (uint32, bool, error) {
	res, err := modelstypes.NewQueryClient(c.conn).Assignments(ctx, &modelstypes.QueryAssignmentsRequest{Operator: c.cfg.Operator})
	if err != nil {
		return 0, false, fmt.Errorf("chain: seats of %s: %w", c.cfg.Operator, err)
	}
	for _, a := range res.Assignments {
		if a.ModelId == modelID {
			return a.Stage, true, nil
		}
	}
	return 0, false, nil
}

// StageRoster lists the replicas of one stage.
func (c *Client) StageRoster(ctx context.Context, modelID uint64, stage uint32) ([]modelstypes.Replica, error) {
	out, err := allPages(func(p *query.PageRequest) ([]modelstypes.Replica, *query.PageResponse, error) {
		res, err := modelstypes.NewQueryClient(c.conn).StageRoster(ctx, &modelstypes.QueryStageRosterRequest{ModelId: modelID, Stage: stage, Pagination: p})
		if err != nil {
			return nil, nil, err
		}
		return res.Replicas, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: roster of model %d stage %d: %w", modelID, stage, err)
	}
	return out, nil
}

// allPages collects every page of a paginated query.
func allPages[T any](page func(*query.PageRequest) ([]T, *query.PageResponse, error)) ([]T, error) {
	var out []T
	var key []byte
	for {
		items, res, err := page(&query.PageRequest{Key: key, Limit: 200})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if res == nil || len(res.NextKey) == 0 {
			return out, nil
		}
		key = res.NextKey
	}
}

// VerifyParams returns x/verify's params.
func (c *Client) VerifyParams(ctx context.Context) (verifytypes.Params, error) {
	res, err := verifytypes.NewQueryClient(c.conn).Params(ctx, &verifytypes.QueryParamsRequest{})
	if err != nil {
		return verifytypes.Params{}, fmt.Errorf("chain: x/verify params: %w", err)
	}
	return res.Params, nil
}

// WorkerByPeer is the operator of the worker that announces libp2p peer id p, or announced it
// before changing it (ok false: none did): who a signature made with p names, as the chain
// judges it (x/compute OperatorOfPeer).
func (c *Client) WorkerByPeer(ctx context.Context, p string) (operator string, ok bool, err error) {
	res, err := computetypes.NewQueryClient(c.conn).WorkerByPeerId(ctx, &computetypes.QueryWorkerByPeerIdRequest{PeerId: p, Retired: true})
	if status.Code(err) == codes.NotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("chain: the worker of peer %s: %w", p, err)
	}
	return res.Worker.Operator, true, nil
}

// HeldStage is the stage operator has ever held of model modelID and the height of its first
// seat there (ok false: it never held one).
func (c *Client) HeldStage(ctx context.Context, modelID uint64, operator string) (stage uint32, firstHeight int64, ok bool, err error) {
	res, err := modelstypes.NewQueryClient(c.conn).HeldStage(ctx, &modelstypes.QueryHeldStageRequest{ModelId: modelID, Operator: operator})
	if status.Code(err) == codes.NotFound {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("chain: the stage %s held of model %d: %w", operator, modelID, err)
	}
	return res.HeldStage.Stage, res.HeldStage.FirstHeight, true, nil
}

// LastAttestedStep is the highest step worker attested on model id (ok false: none):
// attestations are listed newest first, and a worker's steps only grow.
func (c *Client) LastAttestedStep(ctx context.Context, worker string, modelID uint64) (step uint64, ok bool, err error) {
	a, ok, err := c.LastAttestation(ctx, worker, modelID)
	return a.StepTo, ok, err
}

// LastAttestation is the worker's latest attestation on the model (ok false when it has none):
// its last step, and on stage 0 the draws it has counted (where a restart resumes).
func (c *Client) LastAttestation(ctx context.Context, worker string, modelID uint64) (a verifytypes.Attestation, ok bool, err error) {
	res, err := verifytypes.NewQueryClient(c.conn).Attestations(ctx, &verifytypes.QueryAttestationsRequest{
		ModelId: modelID, Worker: worker, Pagination: &query.PageRequest{Limit: 1},
	})
	if err != nil {
		return a, false, fmt.Errorf("chain: attestations of %s: %w", worker, err)
	}
	if len(res.Attestations) == 0 {
		return a, false, nil
	}
	return res.Attestations[0], true, nil
}

// OpenChallenges implements attest.Chain.
func (c *Client) OpenChallenges(ctx context.Context, worker string) ([]verifytypes.Challenge, error) {
	out, err := allPages(func(p *query.PageRequest) ([]verifytypes.Challenge, *query.PageResponse, error) {
		res, err := verifytypes.NewQueryClient(c.conn).Challenges(ctx, &verifytypes.QueryChallengesRequest{
			Worker: worker, Status: verifytypes.CHALLENGE_STATUS_OPEN, Pagination: p,
		})
		if err != nil {
			return nil, nil, err
		}
		return res.Challenges, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: open challenges of %s: %w", worker, err)
	}
	return out, nil
}

// Attestation implements attest.Chain.
func (c *Client) Attestation(ctx context.Context, id uint64) (verifytypes.Attestation, error) {
	res, err := verifytypes.NewQueryClient(c.conn).Attestation(ctx, &verifytypes.QueryAttestationRequest{Id: id})
	if err != nil {
		return verifytypes.Attestation{}, fmt.Errorf("chain: attestation %d: %w", id, err)
	}
	return res.Attestation, nil
}

// Challenge returns challenge id.
func (c *Client) Challenge(ctx context.Context, id uint64) (verifytypes.Challenge, error) {
	res, err := verifytypes.NewQueryClient(c.conn).Challenge(ctx, &verifytypes.QueryChallengeRequest{Id: id})
	if err != nil {
		return verifytypes.Challenge{}, fmt.Errorf("chain: challenge %d: %w", id, err)
	}
	return res.Challenge, nil
}

// PendingAttestations implements attest.Chain.
func (c *Client) PendingAttestations(ctx context.Context, worker string, model uint64) ([]verifytypes.Attestation, error) {
	out, err := allPages(func(p *query.PageRequest) ([]verifytypes.Attestation, *query.PageResponse, error) {
		res, err := verifytypes.NewQueryClient(c.conn).Attestations(ctx, &verifytypes.QueryAttestationsRequest{
			ModelId: model, Worker: worker, Status: verifytypes.ATTESTATION_STATUS_PENDING, Pagination: p,
		})
		if err != nil {
			return nil, nil, err
		}
		return res.Attestations, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: pending attestations of %s: %w", worker, err)
	}
	return out, nil
}

// StagePending is every pending attestation of stage stage of model modelID, in the order they
// finalize, whether or not its worker still holds a seat there (x/verify StagePending): what
// the stage's referees audit.
func (c *Client) StagePending(ctx context.Context, modelID uint64, stage uint32) ([]verifytypes.Attestation, error) {
	out, err := allPages(func(p *query.PageRequest) ([]verifytypes.Attestation, *query.PageResponse, error) {
		p.Limit = 20 // attestations are large: small pages (maxRecv)
		res, err := verifytypes.NewQueryClient(c.conn).StagePending(ctx, &verifytypes.QueryStagePendingRequest{ModelId: modelID, Stage: stage, Pagination: p})
		if err != nil {
			return nil, nil, err
		}
		return res.Attestations, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: pending attestations of model %d stage %d: %w", modelID, stage, err)
	}
	return out, nil
}

// PeerOf is the libp2p peer id operator's worker announces (x/compute; ok false: it is not
// registered): where a worker that left its stage still serves its log.
func (c *Client) PeerOf(ctx context.Context, operator string) (string, bool, error) {
	res, err := computetypes.NewQueryClient(c.conn).Worker(ctx, &computetypes.QueryWorkerRequest{Operator: operator})
	if status.Code(err) == codes.NotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("chain: the worker of %s: %w", operator, err)
	}
	return res.Worker.PeerId, true, nil
}

// Height is the chain's latest block height: the height the node answers a small query at
// (its x-cosmos-block-height header), without fetching a block.
func (c *Client) Height(ctx context.Context) (int64, error) {
	var md metadata.MD
	if _, err := verifytypes.NewQueryClient(c.conn).Params(ctx, &verifytypes.QueryParamsRequest{}, grpc.Header(&md)); err != nil {
		return 0, fmt.Errorf("chain: height: %w", err)
	}
	v := md.Get(grpctypes.GRPCBlockHeightHeader)
	if len(v) != 1 {
		return 0, fmt.Errorf("chain: height: the node's answer has %d %s headers, want 1", len(v), grpctypes.GRPCBlockHeightHeader)
	}
	h, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("chain: height: %w", err)
	}
	return h, nil
}

// Disputes implements dispute.DefenderChain: the open disputes over worker's attestations.
func (c *Client) Disputes(ctx context.Context, worker string) ([]verifytypes.Dispute, error) {
	return c.openDisputes(ctx, worker, func(d verifytypes.Dispute) bool { return d.Worker == worker })
}

// RefereeDisputes implements dispute.ProsecutorChain: the open disputes referee opened.
func (c *Client) RefereeDisputes(ctx context.Context, referee string) ([]verifytypes.Dispute, error) {
	return c.openDisputes(ctx, referee, func(d verifytypes.Dispute) bool { return d.Referee == referee })
}

// openDisputes are the open disputes of party (either side) that keep says are its.
func (c *Client) openDisputes(ctx context.Context, party string, keep func(verifytypes.Dispute) bool) ([]verifytypes.Dispute, error) {
	out, err := allPages(func(p *query.PageRequest) ([]verifytypes.Dispute, *query.PageResponse, error) {
		res, err := verifytypes.NewQueryClient(c.conn).Disputes(ctx, &verifytypes.QueryDisputesRequest{Party: party, OpenOnly: true, Pagination: p})
		if err != nil {
			return nil, nil, err
		}
		return res.Disputes, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: open disputes of %s: %w", party, err)
	}
	var mine []verifytypes.Dispute
	for _, d := range out {
		if keep(d) {
			mine = append(mine, d)
		}
	}
	return mine, nil
}

// DisputeClaim implements dispute.DefenderChain: the worker's move, through the hot key.
func (c *Client) DisputeClaim(ctx context.Context, msg *verifytypes.MsgDisputeClaim) error {
	_, err := c.Exec(ctx, msg)
	return err
}

// Dispute returns dispute id.
func (c *Client) Dispute(ctx context.Context, id uint64) (verifytypes.Dispute, error) {
	res, err := verifytypes.NewQueryClient(c.conn).Dispute(ctx, &verifytypes.QueryDisputeRequest{Id: id})
	if err != nil {
		return verifytypes.Dispute{}, fmt.Errorf("chain: dispute %d: %w", id, err)
	}
	return res.Dispute, nil
}

// DisputeRespond implements dispute.ProsecutorChain: the referee's move, through the hot key.
func (c *Client) DisputeRespond(ctx context.Context, msg *verifytypes.MsgDisputeRespond) error {
	_, err := c.Exec(ctx, msg)
	return err
}

// OpenDispute implements dispute.ProsecutorChain: a dispute over attestation, posting the
// chain's dispute_bond from the operator's account (the hot key must hold the operator's opt-in
// grant, x/verify RefereeMsgs).
func (c *Client) OpenDispute(ctx context.Context, attestation uint64) (uint64, error) {
	p, err := c.VerifyParams(ctx)
	if err != nil {
		return 0, err
	}
	a, err := c.Attestation(ctx, attestation)
	if err != nil {
		return 0, err
	}
	// The model and stage, which the hot key's grant is scoped by.
	res, err := c.Exec(ctx, &verifytypes.MsgOpenDispute{Referee: c.op.String(), AttestationId: attestation, Bond: p.DisputeBond, ModelId: a.ModelId, Stage: a.Stage})
	if err != nil {
		return 0, err
	}
	if len(res) != 1 {
		return 0, fmt.Errorf("chain: open-dispute: %d results", len(res))
	}
	var out verifytypes.MsgOpenDisputeResponse
	if err := out.Unmarshal(res[0]); err != nil {
		return 0, fmt.Errorf("chain: open-dispute response: %w", err)
	}
	return out.DisputeId, nil
}

// RequestLog asks on chain for the replay log of attestation (x/verify MsgRequestLog, through
// the hot key's opt-in referee grant): its worker must show a replica's custody of it within
// log_window blocks. It returns the request's id.
func (c *Client) RequestLog(ctx context.Context, attestation uint64) (uint64, error) {
	res, err := c.Exec(ctx, &verifytypes.MsgRequestLog{Referee: c.op.String(), AttestationId: attestation})
	if err != nil {
		return 0, err
	}
	if len(res) != 1 {
		return 0, fmt.Errorf("chain: request-log: %d results", len(res))
	}
	var out verifytypes.MsgRequestLogResponse
	if err := out.Unmarshal(res[0]); err != nil {
		return 0, fmt.Errorf("chain: request-log response: %w", err)
	}
	return out.RequestId, nil
}

// AnswerLogRequest shows custodian's signed custody of the log request id asks for, through the
// hot key.
func (c *Client) AnswerLogRequest(ctx context.Context, id uint64, custodian string, sig []byte) error {
	_, err := c.Exec(ctx, &verifytypes.MsgAnswerLogRequest{Submitter: c.op.String(), RequestId: id, Custodian: custodian, Signature: sig})
	return err
}

// ReportEquivocation reports, through the hot key, a receipt of a payload the worker of
// attestation id signed under a send number its sends name otherwise, or (with next, the
// attestation that follows it in the worker's log) that falls between the two (x/verify
// MsgReportEquivocation); forward says the receipt is of activations sent forward. It returns
// what the worker was slashed.
func (c *Client) ReportEquivocation(ctx context.Context, id, next uint64, forward bool, receiver string, r *verifytypes.BoundaryReceipt) (sdk.Coin, error) {
	res, err := c.Exec(ctx, &verifytypes.MsgReportEquivocation{Reporter: c.op.String(), AttestationId: id, NextAttestationId: next, Forward: forward, Receiver: receiver, Receipt: r})
	if err != nil {
		return sdk.Coin{}, err
	}
	if len(res) != 1 {
		return sdk.Coin{}, fmt.Errorf("chain: report-equivocation: %d results", len(res))
	}
	var out verifytypes.MsgReportEquivocationResponse
	if err := out.Unmarshal(res[0]); err != nil {
		return sdk.Coin{}, fmt.Errorf("chain: report-equivocation response: %w", err)
	}
	return out.Slashed, nil
}

// LogRequest returns log request id.
func (c *Client) LogRequest(ctx context.Context, id uint64) (verifytypes.LogRequest, error) {
	res, err := verifytypes.NewQueryClient(c.conn).LogRequest(ctx, &verifytypes.QueryLogRequestRequest{Id: id})
	if err != nil {
		return verifytypes.LogRequest{}, fmt.Errorf("chain: log request %d: %w", id, err)
	}
	return res.Request, nil
}

// OpenLogRequests are the open log requests of worker's attestations.
func (c *Client) OpenLogRequests(ctx context.Context, worker string) ([]verifytypes.LogRequest, error) {
	out, err := allPages(func(p *query.PageRequest) ([]verifytypes.LogRequest, *query.PageResponse, error) {
		res, err := verifytypes.NewQueryClient(c.conn).LogRequests(ctx, &verifytypes.QueryLogRequestsRequest{Party: worker, OpenOnly: true, Pagination: p})
		if err != nil {
			return nil, nil, err
		}
		return res.Requests, res.Pagination, nil
	})
	if err != nil {
		return nil, fmt.Errorf("chain: open log requests of %s: %w", worker, err)
	}
	var mine []verifytypes.LogRequest
	for _, r := range out {
		if r.Worker == worker {
			mine = append(mine, r)
		}
	}
	return mine, nil
}

// ChainID is the chain the client signs for.
func (c *Client) ChainID() string { return c.cfg.ChainID }
