package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/trainer/p2p"
)

// Paid inference as customers, designers and providers use it, against a real protolearnd: the
// designer prices a model whose shares a holder owns; its two seated workers serve their stages
// (`trainer serve`, their registered identities and addresses); a customer deposits for a
// gateway's key; a `trainer gateway` process answers completions and settles their receipts on
// chain. The settled amount reaches the serving workers and the holder exactly, a request the
// deposit cannot pay is refused at no cost, and the deposit's balance falls by what was
// charged.
func TestPaidInferenceThroughAGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain, two workers and a gateway")
	}
	const funds = "1000000000000ulearn"
	n := startNodeWith(t, map[string]string{
		"validator": funds, "designer": funds, "customer": funds, "p1": funds, "p2": funds, "holder": funds + ",1000000share/1",
	}, nil, genesisModelForShares)
	bin := trainerBinary(t)
	dir := t.TempDir()
	q := func(into any, args ...string) {
		t.Helper()
		out := n.must(append(append([]string{"query"}, args...), "--node", "tcp://"+n.rpc, "--output", "json")...)
		require.NoError(t, json.Unmarshal([]byte(out), into), out)
	}
	balance := func(key string) int64 {
		var b struct {
			Balance struct{ Amount string } `json:"balance"`
		}
		q(&b, "bank", "balance", n.addr(key), "ulearn")
		v, err := strconv.ParseInt(b.Balance.Amount, 10, 64)
		require.NoError(t, err)
		return v
	}
	claimable := func(key string) int64 {
		var own struct {
			Ownerships []struct {
				Claimable struct{ Amount string } `json:"claimable"`
			} `json:"ownerships"`
		}
		q(&own, "shares", "ownership", n.addr(key))
		if len(own.Ownerships) == 0 {
			return 0
		}
		v, _ := strconv.ParseInt(own.Ownerships[0].Claimable.Amount, 10, 64)
		return v
	}

	// Two workers register with their libp2p identities and addresses, and take the model's two
	// stages: it trains, so it serves.
	listen := map[string]string{}
	for stage, w := range []string{"p1", "p2"} {
		k, err := p2p.LoadOrCreateKey(filepath.Join(dir, w+".key"))
		require.NoError(t, err)
		id, err := p2p.PeerID(k)
		require.NoError(t, err)
		listen[w] = "/ip4/127.0.0.1/tcp/" + freePort(t)
		code, log := n.tx("tx", "compute", "register-worker", id.String(), "100000000ulearn", "--multiaddrs", listen[w],
			"--hardware", `{"accelerator":"cpu","memory_gib":8,"bandwidth_mbps":100}`, "--from", w)
		require.Zero(t, code, log)
		code, log = n.tx("tx", "models", "join-stage", "1", strconv.Itoa(stage), "--from", w)
		require.Zero(t, code, log)
	}
	code, log := n.tx("tx", "inference", "set-price", "1", "1000ulearn", "--from", "designer") // 1 ulearn a token
	require.Zero(t, code, log)
	out, err := exec.Command(bin, "spender-key", "--spender-key", filepath.Join(dir, "gw.key")).Output()
	require.NoError(t, err)
	spender, account, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	code, log = n.tx("tx", "bank", "send", "customer", account, "1ulearn", "--from", "customer") // the gateway pays its fees
	require.Zero(t, code, log)
	code, log = n.tx("tx", "inference", "deposit", "1", "100ulearn", "--spender", spender, "--blocks", "1000", "--from", "customer")
	require.Zero(t, code, log)

	start := func(name string, args ...string) {
		cmd := exec.Command(bin, args...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s's log:\n%s", name, buf.String())
			}
		})
	}
	for stage, w := range []string{"p1", "p2"} {
		start(w, "serve", "--chain-grpc", n.grpc, "--chain-id", chainID, "--model", "1", "--stage", strconv.Itoa(stage),
			"--key", filepath.Join(dir, w+".key"), "--listen", listen[w])
	}
	gw := "127.0.0.1:" + freePort(t)
	start("gateway", "gateway", "--chain-grpc", n.grpc, "--chain-id", chainID, "--spender-key", filepath.Join(dir, "gw.key"),
		"--deposit", "1", "--listen", gw, "--settle-every", "500ms")
	url := "http://" + gw
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if res, err := http.Get(url + "/v1/models"); err == nil {
			var list struct {
				Data []struct {
					ID    string                  `json:"id"`
					Price struct{ Amount string } `json:"price_per_1k_tokens"`
				} `json:"data"`
			}
			err = json.NewDecoder(res.Body).Decode(&list)
			res.Body.Close()
			require.NoError(t, err)
			require.Len(t, list.Data, 1, "model 1 alone serves (model 1 trains)")
			require.Equal(t, "1000", list.Data[0].Price.Amount)
			break
		}
		require.False(t, time.Now().After(deadline), "the gateway does not answer")
	}
	servedBefore := balance("p1") + balance("p2")
	post := func(body string) (int, []byte) {
		res, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	// 6 + 10 and 3 + 8 tokens: 27 ulearn of the deposit's 100.
	status, body := post(`{"model": "1", "prompt": "hello ", "max_tokens": 10, "seed": 3}`)
	require.Equal(t, 200, status, string(body))
	var done struct {
		Choices    []struct{ Text string }  `json:"choices"`
		Protolearn struct{ Charged string } `json:"protolearn"`
	}
	require.NoError(t, json.Unmarshal(body, &done))
	require.Equal(t, "16ulearn", done.Protolearn.Charged)
	res, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"model": "1", "prompt": "abc", "max_tokens": 8, "stream": true}`))
	require.NoError(t, err)
	events := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: {") {
			events++
		}
	}
	res.Body.Close()
	require.Positive(t, events)
	// 73 left at most: a request that may cost 2 + 62 = 64 is taken, one of 2 + 62 more is not.
	status, body = post(`{"model": "1", "prompt": "hi", "max_tokens": 62}`)
	require.Equal(t, 200, status, string(body))
	status, body = post(`{"model": "1", "prompt": "hi", "max_tokens": 62}`)
	require.Equal(t, 402, status, string(body))
	require.Contains(t, string(body), "insufficient_funds")

	var usage struct {
		Usage struct {
			Requests, Tokens string
			Paid, Serving    struct{ Amount string }
			Revenue          struct{ Amount string }
		} `json:"usage"`
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		q(&usage, "inference", "usage", "1")
		if usage.Usage.Requests == "3" {
			break
		}
		require.False(t, time.Now().After(deadline), "the receipts did not settle: %+v", usage)
	}
	require.Equal(t, "91", usage.Usage.Tokens) // 16 + 11 + 64
	require.Equal(t, "91", usage.Usage.Paid.Amount)
	serving, _ := strconv.ParseInt(usage.Usage.Serving.Amount, 10, 64)
	revenue, _ := strconv.ParseInt(usage.Usage.Revenue.Amount, 10, 64)
	require.Equal(t, int64(91), serving+revenue)
	require.Equal(t, serving, balance("p1")+balance("p2")-servedBefore, "the serving workers are paid serving_bps")
	var rev struct {
		Revenue struct{ Paid, Fees string } `json:"revenue"`
	}
	q(&rev, "shares", "revenue", "1")
	fees, _ := strconv.ParseInt(rev.Revenue.Fees, 10, 64)
	require.Equal(t, fmt.Sprint(revenue), rev.Revenue.Paid, "the rest is the model's revenue")
	require.Equal(t, revenue-fees, claimable("holder"), "which the only holder may claim, after the protocol fee")
	var dep struct {
		Deposit struct{ Balance struct{ Amount string } } `json:"deposit"`
	}
	q(&dep, "inference", "deposit", "1")
	require.Equal(t, "9", dep.Deposit.Balance.Amount)
}
