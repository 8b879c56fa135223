// Package e2e runs the real protolearnd binary: a single-validator chain on 127.0.0.1 set up by
// `protolearnd testnet init-files` (as make localnet and make demo set theirs up) and started with
// `protolearnd start`, a worker registered by a signed tx from the CLI, and the result read back
// over the CLI, gRPC and REST.
//
// It runs the binary rather than testutil/network because that package binds its P2P and proxy
// listeners to 0.0.0.0, and our tests listen on loopback only.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	// The binary is built in a subprocess, invisible to go test's cache: importing the daemon's
	// packages makes any change to them rerun these tests instead of reusing a stale pass.
	_ "github.com/protolearn/protolearn/node/cli"
	computetestutil "github.com/protolearn/protolearn/x/compute/testutil"
	computetypes "github.com/protolearn/protolearn/x/compute/types"
)

const chainID = "protolearn-local-1"

var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	// PROTOLEARND lets CI reuse a binary it already built.
	if binary = os.Getenv("PROTOLEARND"); binary == "" {
		dir, err := os.MkdirTemp("", "protolearnd-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "protolearnd")
		build := exec.Command("go", "build", "-o", binary, "github.com/protolearn/protolearn/node/cmd/protolearnd")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building protolearnd:", err)
			return 1
		}
	}
	return m.Run()
}

// node is one protolearnd process and the flags to reach it.
type node struct {
	t                    *testing.T
	home                 string
	rpc, p2p, grpc, rest string
	cmd                  *exec.Cmd
	log                  *bytes.Buffer
}

func freePort(t *testing.T) string {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts are n distinct ports on 127.0.0.1 that were free a moment ago: each listener is held
// until all are open, so that the kernel cannot hand out one port twice.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		out[i] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// testnetBase picks init-files' base port: below the kernel's ephemeral
// range (32768 and up on Linux), where the hosts and clients of tests running
// beside this one take their ports, and with every port the two validators
// use (base+0…12, base+100…101, base+200…201) free right now.
func testnetBase(t *testing.T) int {
	t.Helper()
	seed, _ := strconv.Atoi(freePort(t))
	for try := range 50 {
		base := 20000 + (seed+try*397)%12000
		free := true
		for _, off := range []int{0, 1, 2, 10, 11, 12, 100, 101, 200, 201} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free block of ports for the testnet in 20000…32200")
	return 0
}

// transientQueryError is IAVL's answer to a query that lands while the block it asks for is
// still being committed ("version does not exist (latest height: N)"); asking again succeeds.
var transientQueryError = regexp.MustCompile(`failed to load state at height \d+; version does not exist`)

// run executes the CLI and returns stdout; it fails the test on a non-zero exit unless allowFail.
func (n *node) run(allowFail bool, args ...string) (string, error) {
	n.t.Helper()
	var stdout, stderr bytes.Buffer
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(n.t.Context(), 60*time.Second)
		cmd := exec.CommandContext(ctx, binary, append(args, "--home", n.home)...)
		stdout.Reset()
		stderr.Reset()
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err = cmd.Run()
		cancel()
		if err == nil || !transientQueryError.Match(stderr.Bytes()) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !allowFail {
		n.t.Fatalf("protolearnd %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func (n *node) must(args ...string) string {
	n.t.Helper()
	out, _ := n.run(false, args...)
	return out
}

func (n *node) clientFlags() []string {
	return []string{"--node", "tcp://" + n.rpc, "--chain-id", chainID, "--keyring-backend", "test"}
}

// startNode initializes a one-validator chain where alice holds funds, and starts it.
func startNode(t *testing.T) *node {
	return startNodeWith(t, map[string]string{"validator": "1000000000000ulearn", "alice": "1000000000000ulearn"}, nil, nil)
}

// startNodeWith is startNode with the given keys and their genesis balances ("validator" is the
// validator's operator key), more `testnet init-files` flags (the chain's genesis values:
// --genesis-overrides, --genesis-set, --verifying-keys) and a last edit of the genesis file before
// the chain starts, for values that need the keys' addresses. The chain is set up by `protolearnd
// testnet init-files`, as make localnet and make demo set theirs up.
func startNodeWith(t *testing.T, keys map[string]string, initFlags []string, editGenesis func(n *node, gen map[string]any)) *node {
	ports := freePorts(t, 5)
	rpc, p2p, grpc, rest, abci := ports[0], ports[1], ports[2], ports[3], ports[4]
	n := &node{
		t: t, home: t.TempDir(),
		rpc: "127.0.0.1:" + rpc, p2p: "127.0.0.1:" + p2p, grpc: "127.0.0.1:" + grpc, rest: "127.0.0.1:" + rest,
	}
	args := []string{
		"testnet", "init-files", "--v", "1", "--single-home", "--output-dir", n.home, "--chain-id", chainID,
		"--node-dir-prefix", "e2e", "--key-name", "validator", "--anchor-keys=false", "--commit-timeout", "300ms",
		"--rpc-port", rpc, "--p2p-port", p2p, "--abci-port", abci, "--grpc-port", grpc, "--api-port", rest,
	}
	if coins, ok := keys["validator"]; ok {
		args = append(args, "--balance", coins)
	}
	names := make([]string, 0, len(keys))
	for name := range keys {
		if name != "validator" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "--account", name+"="+keys[name])
	}
	n.must(append(args, initFlags...)...)
	if editGenesis != nil {
		path := filepath.Join(n.home, "config", "genesis.json")
		bz, err := os.ReadFile(path)
		require.NoError(t, err)
		var gen map[string]any
		require.NoError(t, json.Unmarshal(bz, &gen))
		editGenesis(n, gen)
		bz, err = json.MarshalIndent(gen, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, bz, 0o600))
	}
	n.must("genesis", "validate")

	n.launch()
	n.waitForHeight(2)
	return n
}

// addr is the address of a key in the node's test keyring.
func (n *node) addr(key string) string {
	n.t.Helper()
	return strings.TrimSpace(n.must("keys", "show", key, "-a", "--keyring-backend", "test"))
}

// launch starts `protolearnd start` for n.home in its own process group, stopped at test end.
func (n *node) launch(flags ...string) {
	t := n.t
	n.log = &bytes.Buffer{}
	n.cmd = exec.Command(binary, append([]string{"start", "--home", n.home}, flags...)...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, n.cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", n.home, n.log.String())
		}
	})
}

func (n *node) height() int64 {
	out, err := n.run(true, append([]string{"status"}, "--node", "tcp://"+n.rpc)...)
	if err != nil {
		return 0
	}
	var st struct {
		SyncInfo struct {
			LatestBlockHeight string `json:"latest_block_height"`
		} `json:"sync_info"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return 0
	}
	h, _ := strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
	return h
}

func (n *node) waitForHeight(h int64) {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for n.height() < h {
		if time.Now().After(deadline) {
			n.t.Fatalf("chain did not reach height %d", h)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tx broadcasts a CLI tx and returns the committed result's code and raw log.
func (n *node) tx(args ...string) (code uint32, rawLog string) {
	n.t.Helper()
	return n.await(n.broadcast(args...))
}

// broadcastResult is a tx as CheckTx left it.
type broadcastResult struct {
	TxHash string `json:"txhash"`
	Code   uint32 `json:"code"`
	RawLog string `json:"raw_log"`
}

// broadcast sends a CLI tx without waiting for a block (await does), so that txs of several
// accounts land in the same blocks.
func (n *node) broadcast(args ...string) broadcastResult {
	n.t.Helper()
	out := n.must(append(append(args, n.clientFlags()...), "--yes", "--output", "json", "--gas", "400000")...)
	var sync broadcastResult
	require.NoError(n.t, json.Unmarshal([]byte(out), &sync), out)
	return sync
}

// await returns a broadcast tx's committed code and raw log.
func (n *node) await(sync broadcastResult) (code uint32, rawLog string) {
	n.t.Helper()
	if sync.Code != 0 { // refused in CheckTx (ante handler)
		return sync.Code, sync.RawLog
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := n.run(true, "query", "tx", sync.TxHash, "--node", "tcp://"+n.rpc, "--output", "json")
		if err == nil {
			var committed struct {
				Code   uint32 `json:"code"`
				RawLog string `json:"raw_log"`
			}
			require.NoError(n.t, json.Unmarshal([]byte(res), &committed), res)
			return committed.Code, committed.RawLog
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("tx %s was not committed: %s", sync.TxHash, res)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRegisterWorkerOverCLIReadBackOverGRPCAndREST(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	n := startNode(t)
	alice := strings.TrimSpace(n.must("keys", "show", "alice", "-a", "--keyring-backend", "test"))
	peerID := computetestutil.NewPeerID(t, nil)
	hardware := `{"accelerator":"RTX4090","memory_gib":24,"bandwidth_mbps":500}`

	// Bad input first: the user sees what to fix, and nothing is stored.
	code, log := n.tx("tx", "compute", "register-worker", peerID, "5ulearn", "--hardware", hardware, "--from", "alice")
	require.Equal(t, computetypes.ErrStakeTooLow.ABCICode(), code, log)
	require.Contains(t, log, "below min_worker_stake 100000000ulearn")
	code, log = n.tx("tx", "compute", "register-worker", "not-a-peer", "200000000ulearn", "--hardware", hardware, "--from", "alice")
	require.Equal(t, computetypes.ErrInvalidPeerID.ABCICode(), code, log)

	code, log = n.tx("tx", "compute", "register-worker", peerID, "200000000ulearn",
		"--multiaddrs", "/ip4/127.0.0.1/tcp/4001,/ip4/127.0.0.1/udp/4001/quic-v1", "--hardware", hardware, "--from", "alice")
	require.Zero(t, code, log)

	// CLI
	out := n.must("query", "compute", "worker", alice, "--node", "tcp://"+n.rpc, "--output", "json")
	require.Contains(t, out, peerID)
	require.Contains(t, out, "WORKER_STATUS_ACTIVE")

	// gRPC
	conn, err := grpc.NewClient(n.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	res, err := computetypes.NewQueryClient(conn).Worker(t.Context(), &computetypes.QueryWorkerRequest{Operator: alice})
	require.NoError(t, err)
	require.Equal(t, peerID, res.Worker.PeerId)
	require.Equal(t, []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"}, res.Worker.Multiaddrs)
	require.Equal(t, computetypes.Hardware{Accelerator: "RTX4090", MemoryGib: 24, BandwidthMbps: 500}, res.Worker.Hardware)
	require.Equal(t, "200000000ulearn", res.Worker.Bonded.String())
	byPeer, err := computetypes.NewQueryClient(conn).WorkerByPeerId(t.Context(), &computetypes.QueryWorkerByPeerIdRequest{PeerId: peerID})
	require.NoError(t, err)
	require.Equal(t, alice, byPeer.Worker.Operator)

	// REST
	var rest struct {
		Worker struct {
			Operator string `json:"operator"`
			PeerID   string `json:"peer_id"`
			Status   string `json:"status"`
			Bonded   struct {
				Amount string `json:"amount"`
			} `json:"bonded"`
		} `json:"worker"`
	}
	getJSON(t, "http://"+n.rest+"/protolearn/compute/v1/workers/"+alice, &rest)
	require.Equal(t, alice, rest.Worker.Operator)
	require.Equal(t, peerID, rest.Worker.PeerID)
	require.Equal(t, "WORKER_STATUS_ACTIVE", rest.Worker.Status)
	require.Equal(t, "200000000", rest.Worker.Bonded.Amount)
	var list struct {
		Workers []json.RawMessage `json:"workers"`
	}
	// The gateway takes gogoproto enums by number in query strings: 1 is WORKER_STATUS_ACTIVE.
	getJSON(t, "http://"+n.rest+"/protolearn/compute/v1/workers?status=1", &list)
	require.Len(t, list.Workers, 1)

	// A second registration is refused with a message that says what to do instead.
	code, log = n.tx("tx", "compute", "register-worker", computetestutil.NewPeerID(t, nil), "200000000ulearn", "--hardware", hardware, "--from", "alice")
	require.Equal(t, computetypes.ErrWorkerExists.ABCICode(), code, log)
	require.Contains(t, log, "use update-worker or add-stake")

	code, log = n.tx("tx", "compute", "add-stake", "50000000ulearn", "--from", "alice")
	require.Zero(t, code, log)
	code, log = n.tx("tx", "compute", "begin-unbonding", "10000000ulearn", "--from", "alice")
	require.Zero(t, code, log)
	out = n.must("query", "compute", "unbonding-entries", alice, "--node", "tcp://"+n.rpc, "--output", "json")
	require.Contains(t, out, `"10000000"`)
	res, err = computetypes.NewQueryClient(conn).Worker(t.Context(), &computetypes.QueryWorkerRequest{Operator: alice})
	require.NoError(t, err)
	require.Equal(t, "240000000ulearn", res.Worker.Bonded.String())
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // test-only loopback URL
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.NoError(t, json.Unmarshal(body, into), string(body))
}

// Two validators made by `testnet init-files`, each its own process: a worker registered
// through one is seen by the other once the block is agreed on.
func TestTwoValidatorTestnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	dir := t.TempDir()
	// init-files gives node i ports base+10i+{0 p2p, 1 rpc, 2 abci}, grpc-port+i and api-port+i.
	base := testnetBase(t)
	setup := &node{t: t, home: dir}
	setup.must("testnet", "init-files", "--v", "2", "--output-dir", dir, "--commit-timeout", "300ms",
		"--base-port", strconv.Itoa(base), "--grpc-port", strconv.Itoa(base+100), "--api-port", strconv.Itoa(base+200))

	nodes := make([]*node, 2)
	for i := range nodes {
		nodes[i] = &node{
			t: t, home: filepath.Join(dir, fmt.Sprintf("node%d", i)),
			rpc:  fmt.Sprintf("127.0.0.1:%d", base+10*i+1),
			grpc: fmt.Sprintf("127.0.0.1:%d", base+100+i),
		}
		nodes[i].launch()
	}
	for _, n := range nodes {
		n.waitForHeight(3)
	}

	operator := strings.TrimSpace(nodes[0].must("keys", "show", "node0", "-a", "--keyring-backend", "test"))
	peerID := computetestutil.NewPeerID(t, nil)
	code, log := nodes[0].tx("tx", "compute", "register-worker", peerID, "100000000ulearn",
		"--hardware", `{"accelerator":"cpu","memory_gib":8,"bandwidth_mbps":100}`, "--from", "node0")
	require.Zero(t, code, log)

	conn, err := grpc.NewClient(nodes[1].grpc, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	// node1 may commit the tx's block a moment after node0 reported it: ask until it has.
	var res *computetypes.QueryWorkerResponse
	require.Eventually(t, func() bool {
		res, err = computetypes.NewQueryClient(conn).Worker(t.Context(), &computetypes.QueryWorkerRequest{Operator: operator})
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "node1 never saw the worker: %v", err)
	require.Equal(t, peerID, res.Worker.PeerId)

	// Both validators sign: the chain needs them both (each has half the power) to keep going.
	h := nodes[1].height()
	nodes[1].waitForHeight(h + 2)
}
