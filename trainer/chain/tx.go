package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	errorsmod "cosmossdk.io/errors"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"

	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// TxError is a transaction the chain executed and refused: final, not retried.
type TxError struct {
	Codespace string
	Code      uint32
	Log       string
}

func (e *TxError) Error() string {
	return fmt.Sprintf("tx refused (%s %d): %s", e.Codespace, e.Code, shortLog(e.Log))
}

// shortLog cuts the middle out of a long log: an authz execution's log quotes the whole inner
// message (kilobytes of roots) before the reason, which comes last.
func shortLog(s string) string {
	const head, tail = 160, 360
	if len(s) <= head+tail+16 {
		return s
	}
	return strings.ToValidUTF8(s[:head], "") + " … " + strings.ToValidUTF8(s[len(s)-tail:], "")
}

// ABCICode is the chain's error code: a TxError is the chain's verdict, not a transport failure.
func (e *TxError) ABCICode() uint32 { return e.Code }

// Transient says the refusal is the SDK's (its root codespace: a fee, a mempool, funds for the
// fee), not a module's verdict on the message: the same message may land when sent again.
func (e *TxError) Transient() bool { return e.Codespace == sdkerrors.RootCodespace }

// Is matches a registered error of the same codespace and code.
func (e *TxError) Is(target error) bool {
	var reg *errorsmod.Error
	return errors.As(target, &reg) && reg.Codespace() == e.Codespace && reg.ABCICode() == e.Code
}

const (
	// maxAttempts bounds the retries of one transaction.
	maxAttempts = 8
	// txTTL is how long an unordered transaction may wait for inclusion (the chain allows 10 min).
	txTTL = 90 * time.Second
	// fallbackGas is the gas of a transaction whose simulation failed.
	fallbackGas = 2_000_000
)

// Exec runs msgs for the operator: wrapped in one authz MsgExec signed by the hot key, fees
// granted by the operator. It returns the result of each inner message.
//
// Transactions are unordered (x/auth unordered transactions, which the app enables): each
// carries a unique timeout instead of a sequence number, so the trainer's attestations and
// challenge answers go out concurrently, several per block, and none waits for another. Retries
// are safe: a signed transaction is re-broadcast byte for byte after a lost connection or a node
// restart (the chain refuses a second use of its timeout), and a new one is signed only once the
// old one can no longer be included (its timeout passed) or ran out of gas (included, no effect).
func (c *Client) Exec(ctx context.Context, msgs ...sdk.Msg) ([][]byte, error) {
	if c.op == nil {
		return nil, errors.New("chain: no operator to act for (a client without one submits its own messages)")
	}
	exec := authz.NewMsgExec(c.hot, msgs)
	res, err := c.send(ctx, &exec)
	if err != nil {
		return nil, err
	}
	return execResults(res)
}

// Submit runs msg signed by the key for its own account, which pays the fee: what anyone may
// submit (receipts to settle). It returns the message's response.
func (c *Client) Submit(ctx context.Context, msg sdk.Msg) ([]byte, error) {
	res, err := c.send(ctx, msg)
	if err != nil {
		return nil, err
	}
	var data sdk.TxMsgData
	bz, err := hexBytes(res.Data)
	if err != nil {
		return nil, err
	}
	if err := data.Unmarshal(bz); err != nil || len(data.MsgResponses) != 1 {
		return nil, fmt.Errorf("chain: tx %s data: %d responses, %v", res.TxHash, len(data.MsgResponses), err)
	}
	return data.MsgResponses[0].Value, nil
}

// send signs msg, broadcasts it and waits for its inclusion, retrying as Exec says.
func (c *Client) send(ctx context.Context, msg sdk.Msg) (*sdk.TxResponse, error) {
	gasFactor := 1.3
	var lastErr error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		if err := c.ensureAccount(ctx); err != nil {
			lastErr = err
			continue
		}
		timeout := c.nextTimeout()
		bz, err := c.sign(ctx, msg, gasFactor, timeout)
		if err != nil {
			lastErr = err
			continue
		}
		res, err := c.broadcastAndWait(ctx, bz, timeout)
		switch {
		case err != nil:
			lastErr = err
			continue
		case res.Code == sdkerrors.ErrOutOfGas.ABCICode() && res.Codespace == sdkerrors.RootCodespace:
			gasFactor *= 2
			lastErr = fmt.Errorf("out of gas: %s", res.RawLog)
			continue
		case res.Code != 0:
			return nil, &TxError{Codespace: res.Codespace, Code: res.Code, Log: res.RawLog}
		}
		return res, nil
	}
	return nil, fmt.Errorf("chain: transaction not included after %d attempts: %w", maxAttempts, lastErr)
}

// nextTimeout is a fresh timeout for an unordered transaction: the signer's nonce, so it is
// strictly increasing (to the nanosecond) across this client's transactions.
func (c *Client) nextTimeout() time.Time {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	t := time.Now().Add(txTTL)
	if !t.After(c.lastTimeout) {
		t = c.lastTimeout.Add(time.Nanosecond)
	}
	c.lastTimeout = t
	return t
}

func execResults(res *sdk.TxResponse) ([][]byte, error) {
	var data sdk.TxMsgData
	bz, err := hexBytes(res.Data)
	if err != nil {
		return nil, err
	}
	if err := data.Unmarshal(bz); err != nil {
		return nil, fmt.Errorf("chain: tx %s data: %w", res.TxHash, err)
	}
	if len(data.MsgResponses) != 1 {
		return nil, fmt.Errorf("chain: tx %s has %d responses, want 1", res.TxHash, len(data.MsgResponses))
	}
	var er authz.MsgExecResponse
	if err := er.Unmarshal(data.MsgResponses[0].Value); err != nil {
		return nil, fmt.Errorf("chain: tx %s exec response: %w", res.TxHash, err)
	}
	out := make([][]byte, 0, len(er.Results))
	for _, r := range er.Results {
		var d sdk.TxMsgData
		// authz returns each inner result as sdk.Result.Data: a TxMsgData of one response in
		// SDK ≥ 0.46.
		if err := d.Unmarshal(r); err == nil && len(d.MsgResponses) == 1 {
			out = append(out, d.MsgResponses[0].Value)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *Client) ensureAccount(ctx context.Context) error {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	if c.haveAcct {
		return nil
	}
	res, err := authtypes.NewQueryClient(c.conn).Account(ctx, &authtypes.QueryAccountRequest{Address: c.hot.String()})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return fmt.Errorf("chain: hot key %s has no account yet: send it 1%s (see the README's hot key setup)", c.hot, c.cfg.GasPrice.Denom)
		}
		return fmt.Errorf("chain: account of %s: %w", c.hot, err)
	}
	var acc sdk.AccountI
	if err := c.enc.InterfaceRegistry.UnpackAny(res.Account, &acc); err != nil {
		return fmt.Errorf("chain: account of %s: %w", c.hot, err)
	}
	c.acct, c.haveAcct = acc.GetAccountNumber(), true
	return nil
}

// sign builds and signs the unordered tx, with gas from a simulation times factor.
func (c *Client) sign(ctx context.Context, msg sdk.Msg, factor float64, timeout time.Time) ([]byte, error) {
	cfg := c.enc.TxConfig
	txb := cfg.NewTxBuilder()
	if err := txb.SetMsgs(msg); err != nil {
		return nil, err
	}
	if c.op != nil {
		txb.SetFeeGranter(c.op) // the operator pays its hot key's fees
	}
	txb.SetUnordered(true)
	txb.SetTimeoutTimestamp(timeout)
	mode := signing.SignMode(cfg.SignModeHandler().DefaultMode())
	pub := c.cfg.HotKey.PubKey()
	empty := signing.SignatureV2{PubKey: pub, Data: &signing.SingleSignatureData{SignMode: mode}} // sequence 0: unordered
	if err := txb.SetSignatures(empty); err != nil {
		return nil, err
	}
	simBz, err := cfg.TxEncoder()(txb.GetTx())
	if err != nil {
		return nil, err
	}
	var gas uint64
	sim, err := txtypes.NewServiceClient(c.conn).Simulate(ctx, &txtypes.SimulateRequest{TxBytes: simBz})
	switch st, _ := status.FromError(err); {
	case err == nil:
		gas = uint64(math.Ceil(float64(sim.GasInfo.GasUsed)*factor)) + 20_000
	case st.Code() == codes.Unknown:
		// The messages fail in simulation. Only execution gives the error its code (which the
		// callers' idempotence checks need), so the tx goes out with fallback gas and the chain
		// refuses it for the record; it has no other effect.
		c.cfg.Log.Debug("simulation refused the messages; broadcasting for the verdict", "err", st.Message())
		gas = fallbackGas
	default:
		return nil, fmt.Errorf("chain: simulate: %w", err)
	}
	txb.SetGasLimit(gas)
	fee := c.cfg.GasPrice.Amount.MulInt64(int64(gas)).Ceil().TruncateInt()
	txb.SetFeeAmount(sdk.NewCoins(sdk.NewCoin(c.cfg.GasPrice.Denom, fee)))
	if err := txb.SetSignatures(empty); err != nil {
		return nil, err
	}
	sig, err := clienttx.SignWithPrivKey(ctx, mode, authsigning.SignerData{
		ChainID: c.cfg.ChainID, AccountNumber: c.acct, PubKey: pub, Address: c.hot.String(),
	}, txb, c.cfg.HotKey, cfg, 0)
	if err != nil {
		return nil, err
	}
	if err := txb.SetSignatures(sig); err != nil {
		return nil, err
	}
	return cfg.TxEncoder()(txb.GetTx())
}

// broadcastAndWait broadcasts bz (again, byte for byte, if it was lost) and waits for its
// inclusion, until its timeout has passed (then it can never be included). A CheckTx refusal
// comes back as the response, with height 0.
func (c *Client) broadcastAndWait(ctx context.Context, bz []byte, timeout time.Time) (*sdk.TxResponse, error) {
	svc := txtypes.NewServiceClient(c.conn)
	deadline := timeout.Add(10 * time.Second) // block times lag the wall clock a little
	var hash string
	for hash == "" && time.Now().Before(deadline) {
		res, err := svc.BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: bz, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			c.cfg.Log.Warn("broadcast failed; retrying", "err", err)
			if err := sleep(ctx, time.Second); err != nil {
				return nil, err
			}
			continue
		}
		r := res.TxResponse
		// Already in the mempool, the cache or a block: the same bytes went out before; wait.
		known := (r.Code == sdkerrors.ErrTxInMempoolCache.ABCICode() && r.Codespace == sdkerrors.RootCodespace) ||
			strings.Contains(r.RawLog, "has already used timeout")
		if r.Code != 0 && !known {
			return r, nil
		}
		hash = r.TxHash
	}
	if hash == "" {
		return nil, errors.New("chain: node unreachable")
	}
	for time.Now().Before(deadline) {
		res, err := svc.GetTx(ctx, &txtypes.GetTxRequest{Hash: hash})
		if err == nil {
			return res.TxResponse, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("chain: tx %s not included before its timeout", hash)
}

// SubmitAttestation implements attest.Chain. An attestation refused as overlapping because the
// same range was already recorded (a retry after an ambiguous failure) returns that one's id.
func (c *Client) SubmitAttestation(ctx context.Context, msg *verifytypes.MsgSubmitAttestation) (uint64, error) {
	results, err := c.Exec(ctx, msg)
	if errors.Is(err, verifytypes.ErrOverlappingSteps) {
		if id, ok := c.findAttestation(ctx, msg); ok {
			return id, nil
		}
	}
	if err != nil {
		return 0, err
	}
	var out verifytypes.MsgSubmitAttestationResponse
	if len(results) != 1 {
		return 0, fmt.Errorf("chain: %d results for one attestation", len(results))
	}
	if err := out.Unmarshal(results[0]); err != nil {
		return 0, fmt.Errorf("chain: attestation response: %w", err)
	}
	return out.AttestationId, nil
}

func (c *Client) findAttestation(ctx context.Context, msg *verifytypes.MsgSubmitAttestation) (uint64, bool) {
	res, err := verifytypes.NewQueryClient(c.conn).Attestations(ctx, &verifytypes.QueryAttestationsRequest{ModelId: msg.ModelId, Worker: msg.Worker})
	if err != nil {
		return 0, false
	}
	for _, a := range res.Attestations {
		if a.StepFrom == msg.StepFrom && a.StepTo == msg.StepTo && sameWork(a, msg) {
			return a.Id, true
		}
	}
	return 0, false
}

// sameWork says whether a is msg's attestation and not another one of the same steps: the same
// roots while it is pending (a final attestation no longer keeps its roots: then the same work
// units and tile).
func sameWork(a verifytypes.Attestation, msg *verifytypes.MsgSubmitAttestation) bool {
	if a.WorkUnits != msg.WorkUnits || a.TileRows != msg.TileRows || a.TileWidth != msg.TileWidth {
		return false
	}
	if len(a.Commitments) == 0 && a.Status != verifytypes.ATTESTATION_STATUS_PENDING {
		return true
	}
	if len(a.Commitments) != len(msg.Commitments) {
		return false
	}
	for i, c := range a.Commitments {
		for j, r := range c.Roots() {
			if !bytes.Equal(r.Root, msg.Commitments[i].Roots()[j].Root) {
				return false
			}
		}
	}
	return true
}

// RespondChallenge implements attest.Chain; a challenge already answered (a retry) is success.
func (c *Client) RespondChallenge(ctx context.Context, msg *verifytypes.MsgRespondChallenge) error {
	_, err := c.Exec(ctx, msg)
	if errors.Is(err, verifytypes.ErrChallengeClosed) {
		if ch, qerr := c.Challenge(ctx, msg.ChallengeId); qerr == nil && ch.Status == verifytypes.CHALLENGE_STATUS_ANSWERED {
			return nil
		}
	}
	return err
}

func backoff(attempt int) time.Duration {
	return min(time.Duration(1<<min(attempt, 5))*250*time.Millisecond, 8*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
