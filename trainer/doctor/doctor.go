// Package doctor diagnoses a trainer's set-up before (or while) it runs: its keys, the chain it
// talks to, the operator's registration, seat and grants to the hot key, the compute backend, and
// whether its peers can reach it. Each check says what it found and, when it fails, what to fix.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/protolearn/protolearn/trainer/backend"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/p2p"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Result is one check's outcome.
type Result struct {
	Check  string
	OK     bool
	Detail string
	// Fix says what to do when the check failed.
	Fix string
	// Skipped marks a check that could not run because an earlier one failed.
	Skipped bool
}

// Config is the trainer's set-up as `trainer run` would take it.
type Config struct {
	// KeyPath is the libp2p identity file (--key), HotKeyPath the hot key file (--hot-key).
	KeyPath, HotKeyPath string
	// Chain is the node and the operator; RPC the node's CometBFT RPC (tcp:// or http://).
	Chain chain.Config
	RPC   string
	// Model and Stage are the seat the trainer would train (Stage −1: whatever the operator holds).
	Model uint64
	Stage int
	// Listen, Announce and NAT are the host's addresses and NAT traversal.
	Listen, Announce []string
	NAT              p2p.NATConfig
	Backend          string
	// Wait bounds how long reachability is waited for (default 20 s).
	Wait time.Duration
}

// doctor runs the checks, handing each result to report as it comes.
type doctor struct {
	cfg    Config
	report func(Result)
	failed int
	// held is the stage the operator holds (−1: none known), for the grants' scope.
	held int
}

// query bounds one chain query: a node that stalls fails a check, never hangs the doctor.
func query(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 10*time.Second)
}

func (d *doctor) ok(check, format string, a ...any) {
	d.report(Result{Check: check, OK: true, Detail: fmt.Sprintf(format, a...)})
}

func (d *doctor) fail(check, fix, format string, a ...any) {
	d.failed++
	d.report(Result{Check: check, Detail: fmt.Sprintf(format, a...), Fix: fix})
}

func (d *doctor) skip(check, why string) {
	d.report(Result{Check: check, Skipped: true, Detail: why})
}

// Run runs every check and returns how many failed.
func Run(ctx context.Context, cfg Config, report func(Result)) int {
	if cfg.Wait <= 0 {
		cfg.Wait = 20 * time.Second
	}
	d := &doctor{cfg: cfg, report: report, held: -1}
	id, key := d.peerKey()
	hotOK := d.hotKey()
	cl := d.chain(ctx, hotOK)
	var w worker
	if cl != nil {
		defer cl.Close()
		w = d.registration(ctx, cl, id)
		d.seat(ctx, cl, w)
		d.grants(ctx, cl)
	} else {
		for _, c := range []string{"registration", "seat", "hot key grants"} {
			d.skip(c, "no chain to ask")
		}
	}
	d.backend()
	d.network(ctx, key, id, w, cl)
	return d.failed
}

func (d *doctor) peerKey() (peer.ID, crypto.PrivKey) {
	const check = "peer key"
	if d.cfg.KeyPath == "" {
		d.fail(check, "give --key, the file of the identity you registered (trainer peer-id --key FILE creates and prints one)", "no --key")
		return "", nil
	}
	if _, err := os.Stat(d.cfg.KeyPath); errors.Is(err, fs.ErrNotExist) {
		d.fail(check, "create it with 'trainer peer-id --key "+d.cfg.KeyPath+"' and register the id it prints (protolearnd tx compute register-worker)", "%s does not exist", d.cfg.KeyPath)
		return "", nil
	}
	k, err := p2p.LoadOrCreateKey(d.cfg.KeyPath) // it exists: loaded, never created
	if err != nil {
		d.fail(check, "point --key at the identity file trainer peer-id created", "%v", err)
		return "", nil
	}
	id, err := p2p.PeerID(k)
	if err != nil {
		d.fail(check, "point --key at the identity file trainer peer-id created", "%v", err)
		return "", nil
	}
	d.ok(check, "%s is peer %s", d.cfg.KeyPath, id)
	return id, k
}

func (d *doctor) hotKey() bool {
	const check = "hot key"
	if d.cfg.Chain.HotKey == nil {
		d.fail(check, "give --hot-key FILE ('trainer hot-key --hot-key FILE' creates one and prints its address)", "no hot key")
		return false
	}
	d.ok(check, "%s signs as %s", d.cfg.HotKeyPath, hotAddress(d.cfg.Chain))
	return true
}

func (d *doctor) chain(ctx context.Context, hotOK bool) *chain.Client {
	const check = "chain"
	if !hotOK || d.cfg.Chain.GRPC == "" {
		d.skip(check, "no --chain or no hot key")
		d.skip("chain RPC", "no chain")
		return nil
	}
	cl, err := chain.Dial(d.cfg.Chain)
	if err != nil {
		d.fail(check, "check --chain (the node's gRPC, host:port) and --operator", "%v", err)
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, err := cl.NodeChainID(cctx)
	switch {
	case err != nil:
		d.fail(check, "is the node running, and is --chain its gRPC address (app.toml [grpc] address)?", "%s does not answer: %v", d.cfg.Chain.GRPC, err)
		cl.Close()
		return nil
	case id != d.cfg.Chain.ChainID:
		d.fail(check, fmt.Sprintf("give --chain-id %s, or point --chain at a node of %s", id, d.cfg.Chain.ChainID), "the node at %s runs chain %q, not --chain-id %q", d.cfg.Chain.GRPC, id, d.cfg.Chain.ChainID)
		cl.Close()
		return nil
	}
	d.ok(check, "gRPC %s answers for chain %s", d.cfg.Chain.GRPC, id)
	d.rpc(ctx, id)
	return cl
}

// rpc checks the CometBFT RPC, where challenge events come from.
func (d *doctor) rpc(ctx context.Context, chainID string) {
	const check = "chain RPC"
	if d.cfg.RPC == "" {
		d.skip(check, "no --chain-rpc: challenges are found by polling only")
		return
	}
	u := strings.Replace(d.cfg.RPC, "tcp://", "http://", 1)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, strings.TrimRight(u, "/")+"/status", nil)
	if err == nil {
		err = rpcStatus(req, chainID)
	}
	if err != nil {
		d.fail(check, "give --chain-rpc the node's RPC (config.toml [rpc] laddr, e.g. tcp://127.0.0.1:26657); without it challenges are found only by polling", "%s: %v", d.cfg.RPC, err)
		return
	}
	d.ok(check, "%s answers for chain %s", d.cfg.RPC, chainID)
}

// rpcStatus asks CometBFT's /status and checks the chain it names.
func rpcStatus(req *http.Request, chainID string) error {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", res.Status)
	}
	var st struct {
		Result struct {
			NodeInfo struct {
				Network string `json:"network"`
			} `json:"node_info"`
		} `json:"result"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st); err != nil {
		return fmt.Errorf("not CometBFT's /status: %w", err)
	}
	if st.Result.NodeInfo.Network != chainID {
		return fmt.Errorf("it answers for chain %q, not %s", st.Result.NodeInfo.Network, chainID)
	}
	return nil
}

// worker is what the chain says of the operator's registration.
type worker struct {
	registered bool
	peerID     string
	addrs      []string
}

func (d *doctor) registration(ctx context.Context, cl *chain.Client, id peer.ID) worker {
	const check = "registration"
	op := d.cfg.Chain.Operator
	ctx, cancel := query(ctx)
	defer cancel()
	w, ok, err := cl.Worker(ctx, op)
	switch {
	case err != nil:
		d.fail(check, "check --operator", "%v", err)
		return worker{}
	case !ok:
		d.fail(check, fmt.Sprintf("register: protolearnd tx compute register-worker %s <stake> --multiaddrs <your announced address> --from %s", id, op), "%s is not a registered worker", op)
		return worker{}
	}
	out := worker{registered: true, peerID: w.PeerId, addrs: w.Multiaddrs}
	if id != "" && w.PeerId != id.String() {
		d.fail(check, fmt.Sprintf("run with the --key you registered, or update the registration (protolearnd tx compute update-worker) to peer %s", id), "%s registered peer %s, but --key is peer %s", op, w.PeerId, id)
		return out
	}
	if len(w.Multiaddrs) == 0 {
		d.fail(check, "register the addresses peers dial (--multiaddrs of register-worker, update-worker): your --announce or public listen address", "%s registered no address: only the DHT can find it", op)
		return out
	}
	d.ok(check, "%s is registered as peer %s at %s, bonding %s (%s)", op, w.PeerId, strings.Join(w.Multiaddrs, ", "), w.Bonded, w.Status)
	return out
}

func (d *doctor) seat(ctx context.Context, cl *chain.Client, w worker) {
	const check = "seat"
	if !w.registered {
		d.skip(check, "not registered")
		return
	}
	ctx, cancel := query(ctx)
	defer cancel()
	m, err := cl.Model(ctx, d.cfg.Model)
	if err != nil {
		d.fail(check, "check --model", "%v", err)
		return
	}
	held, seated, err := cl.StageOf(ctx, d.cfg.Model)
	if err == nil && seated {
		d.held = int(held)
	}
	switch {
	case err != nil:
		d.fail(check, "check --operator", "%v", err)
	case !seated:
		d.fail(check, fmt.Sprintf("take one: protolearnd tx models join-stage %d <stage> --from %s (or trainer run --join-stage --stage S)", d.cfg.Model, d.cfg.Chain.Operator),
			"%s holds no stage of model %d (%s)", d.cfg.Chain.Operator, d.cfg.Model, m.Status)
	case d.cfg.Stage >= 0 && int(held) != d.cfg.Stage:
		d.fail(check, fmt.Sprintf("run --stage %d, the stage you hold", held), "%s holds stage %d of model %d, not --stage %d", d.cfg.Chain.Operator, held, d.cfg.Model, d.cfg.Stage)
	default:
		d.ok(check, "stage %d of model %d %q (%s)", held, d.cfg.Model, m.Name, m.Status)
	}
}

func (d *doctor) grants(ctx context.Context, cl *chain.Client) {
	const check = "hot key grants"
	stage := "<stage>"
	if d.held >= 0 {
		stage = fmt.Sprint(d.held)
	}
	fix := fmt.Sprintf("protolearnd tx verify authorize-trainer %s --model %d --stage %s --spend-limit <fees> --from <operator>", hotAddress(d.cfg.Chain), d.cfg.Model, stage)
	ctx, cancel := query(ctx)
	defer cancel()
	gs, err := cl.HotKeyGrants(ctx)
	if err != nil {
		d.fail(check, fix, "%v", err)
		return
	}
	var missing, elsewhere []string
	seats := map[string]bool{}
	for _, m := range verifytypes.SeatMsgs() {
		seats[sdk.MsgTypeURL(m)] = true
	}
	for _, m := range verifytypes.TrainerMsgs() {
		url := sdk.MsgTypeURL(m)
		live := func(g chain.Grant) bool {
			return g.MsgTypeURL == url && (g.Expiration == nil || g.Expiration.After(time.Now()))
		}
		if !slices.ContainsFunc(gs, live) {
			missing = append(missing, url)
			continue
		}
		// A seat's messages are granted for one model and stage: the one held here.
		if seats[url] && d.held >= 0 && !slices.ContainsFunc(gs, func(g chain.Grant) bool {
			return live(g) && g.Seat != nil && g.Seat.ModelId == d.cfg.Model && int(g.Seat.Stage) == d.held
		}) {
			elsewhere = append(elsewhere, url)
		}
	}
	switch {
	case len(missing) > 0:
		d.fail(check, fix, "the operator has not authorized the hot key for %s", strings.Join(missing, ", "))
		return
	case len(elsewhere) > 0:
		d.fail(check, fix, "the hot key's grants for %s are for another seat than stage %d of model %d: the chain would refuse its attestations", strings.Join(elsewhere, ", "), d.held, d.cfg.Model)
		return
	}
	fee, err := cl.HasFeeAllowance(ctx)
	switch {
	case err != nil:
		d.fail(check, fix, "%v", err)
		return
	case !fee:
		d.fail(check, fix, "the operator pays no fee of the hot key (no x/feegrant allowance)")
		return
	}
	acct, err := cl.HotKeyHasAccount(ctx)
	switch {
	case err != nil:
		d.fail(check, fix, "%v", err)
	case !acct:
		d.fail(check, fmt.Sprintf("send it 1ulearn (authorize-trainer does): protolearnd tx bank send <operator> %s 1ulearn", hotAddress(d.cfg.Chain)), "the hot key has no account yet: it cannot sign")
	default:
		d.ok(check, "%d grants (every trainer message), a fee allowance, and an account", len(gs))
	}
}

func (d *doctor) backend() {
	const check = "backend"
	name := d.cfg.Backend
	if name == "" {
		name = "go"
	}
	be, err := backend.New(name)
	if err != nil {
		d.fail(check, "use --backend go (CPU), or install the PJRT plugin the xla backend names (see trainer/README.md, 'GPU')", "--backend %s: %v", name, err)
		return
	}
	defer be.Finalize()
	d.ok(check, "%s (%s)", name, be.Name())
}

// network starts a host as the trainer would and checks what its peers see of it.
func (d *doctor) network(ctx context.Context, key crypto.PrivKey, id peer.ID, w worker, cl *chain.Client) {
	if key == nil {
		d.skip("listen", "no peer key")
		return
	}
	h, err := p2p.New(p2p.Config{Key: key, Listen: d.cfg.Listen, Announce: d.cfg.Announce, NAT: d.cfg.NAT})
	switch {
	case err != nil && strings.Contains(err.Error(), "address already in use"):
		d.ok("listen", "%s is in use: a trainer runs there already (its registered addresses are checked below)", strings.Join(d.cfg.Listen, ", "))
	case err != nil:
		d.fail("listen", "give --listen addresses this machine can bind (e.g. /ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/udp/4001/quic-v1)", "%v", err)
		return
	default:
		defer h.Close()
		d.ok("listen", "listening on %s; announcing %s", addrs(h.Network().ListenAddresses()), addrs(h.Addrs()))
	}
	d.registeredReachable(ctx, id, w)
	d.relays(ctx, h)
	if h != nil && cl != nil {
		d.reachability(ctx, h, cl)
	}
}

// registeredReachable dials the addresses the chain lists for this worker, from a second host,
// and expects this identity to answer there.
func (d *doctor) registeredReachable(ctx context.Context, id peer.ID, w worker) {
	const check = "registered addresses"
	if !w.registered || len(w.addrs) == 0 || id == "" {
		d.skip(check, "nothing registered to dial")
		return
	}
	pk, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		d.fail(check, "", "a probe key: %v", err)
		return
	}
	probe, err := p2p.New(p2p.Config{Key: pk, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		d.fail(check, "", "a probe host: %v", err)
		return
	}
	defer probe.Close()
	ai := peer.AddrInfo{ID: id, Addrs: chain.Multiaddrs(w.addrs)}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := probe.Connect(cctx, ai); err != nil {
		d.fail(check, "register the address peers reach this machine at (forward the port on your router, or --announce the public address; update-worker --multiaddrs), or give --relay", "dialing %s: %v", strings.Join(w.addrs, ", "), err)
		return
	}
	note := ""
	for _, m := range ai.Addrs {
		if !manet.IsPublicAddr(m) {
			note = " (from this machine; a private or loopback address is reached only on this network: peers elsewhere need a public one, which the reachability check below asks them about)"
			break
		}
	}
	d.ok(check, "%s reaches peer %s%s", strings.Join(w.addrs, ", "), id, note)
}

func (d *doctor) relays(ctx context.Context, h host.Host) {
	for _, r := range d.cfg.NAT.Relays {
		check := "relay " + r.ID.String()
		if h == nil {
			d.skip(check, "no host of ours (a trainer holds the port)")
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := h.Connect(cctx, r)
		cancel()
		if err != nil {
			d.fail(check, "check the relay's multiaddr (/ip4/…/tcp/…/p2p/<id>) and that it runs a circuit relay v2 service", "%v", err)
			continue
		}
		d.ok(check, "connected")
	}
}

// reachability asks the model's other workers (the AutoNAT service of those that run it)
// whether this host is reachable from outside, waiting at most Config.Wait.
func (d *doctor) reachability(ctx context.Context, h host.Host, cl *chain.Client) {
	const check = "reachability"
	sub, err := h.EventBus().Subscribe(new(event.EvtLocalReachabilityChanged))
	if err != nil {
		d.fail(check, "", "%v", err)
		return
	}
	defer sub.Close()
	qctx, cancel := query(ctx)
	defer cancel()
	m, err := cl.Model(qctx, d.cfg.Model)
	if err != nil {
		d.skip(check, "model unknown")
		return
	}
	var peers []peer.AddrInfo
	for s := range m.Stages {
		rs, err := cl.StageRoster(qctx, d.cfg.Model, uint32(s))
		if err != nil {
			continue
		}
		for _, r := range rs {
			if ai, err := chain.ReplicaAddrInfo(r); err == nil && ai.ID != h.ID() {
				peers = append(peers, ai)
			}
		}
	}
	// A sample, dialed at once under one deadline: a large roster does not make a long wait.
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	peers = peers[:min(len(peers), 8)]
	var mu sync.Mutex
	var reached []string
	var wg sync.WaitGroup
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h.Connect(dctx, p) == nil {
				mu.Lock()
				reached = append(reached, p.ID.String())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	dcancel()
	if len(peers) == 0 {
		d.skip(check, "no other worker of the model to ask")
		return
	}
	if len(reached) == 0 {
		d.fail(check, "check this machine's outbound connections (firewall) and that the model's workers run", "none of the model's %d other workers answered", len(peers))
		return
	}
	verdict := network.ReachabilityUnknown
	timer := time.NewTimer(d.cfg.Wait)
	defer timer.Stop()
wait:
	for {
		select {
		case e := <-sub.Out():
			verdict = e.(event.EvtLocalReachabilityChanged).Reachability
			if verdict != network.ReachabilityUnknown {
				break wait
			}
		case <-timer.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	switch verdict {
	case network.ReachabilityPublic:
		d.ok(check, "public: the model's workers can dial it (%d of %d connected)", len(reached), len(peers))
	case network.ReachabilityPrivate:
		d.fail(check, "forward the listen port on your router and --announce the public address, or give --relay (a circuit relay v2) with hole punching on", "private: peers cannot dial this machine (%d of %d connected out)", len(reached), len(peers))
	default:
		d.ok(check, "connected to %d of %d workers; none of them answered an AutoNAT check within %s (they run it with --autonat-service)", len(reached), len(peers), d.cfg.Wait)
	}
}

func addrs(as []ma.Multiaddr) string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return strings.Join(out, ", ")
}

func hotAddress(c chain.Config) string {
	if c.HotKey == nil {
		return ""
	}
	return sdk.AccAddress(c.HotKey.PubKey().Address()).String()
}
