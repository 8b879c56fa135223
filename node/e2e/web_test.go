package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
)

// browser is Debian's chromium, or "" where it is not installed, which fails the test on CI
// (whose .ci/run installs it) and is said in the test's log elsewhere.
func browser(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs Debian's package (apt-get install chromium)")
	}
	t.Log("chromium is not installed (apt-get install chromium): the web app is not tried in a browser")
	return ""
}

// TestWebAppShowsWhatTheChainHolds opens protolearnd web's app in a real browser (headless
// chromium) against a node with a model, its holders and revenue: what the pages show (holders,
// fractions, claimable) must be the CLI's answers. A wallet standing in for Keplr (the same
// interface; its signatures made by the holder's key in the test) then claims revenue, deposits
// for inference, sends shares and votes from the pages, and the chain must hold each. A
// screenshot of each view is taken (UPDATE_SCREENSHOTS=1 writes them to docs/).
func TestWebAppShowsWhatTheChainHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a browser")
	}
	chromium := browser(t)
	if chromium == "" {
		t.Skip("no browser")
	}
	const funds = "1000000000000ulearn"
	n := startNodeWith(t, map[string]string{
		"validator": funds, "designer": funds, "customer": funds, "friend": funds, "w0": funds, "w1": funds,
		"p1": funds + ",3000000share/1", "p2": funds + ",1000000share/1",
	}, nil, genesisModelForShares)
	// The model trains (a worker a stage: the page lists them) and is on sale.
	n.registerWorkers("w0", "w1")
	for stage, w := range []string{"w0", "w1"} {
		code, log := n.tx("tx", "models", "join-stage", "1", strconv.Itoa(stage), "--from", w)
		require.Zero(t, code, log)
	}
	code, log := n.tx("tx", "inference", "set-price", "1", "2000ulearn", "--from", "designer")
	require.Zero(t, code, log)
	code, log = n.tx("tx", "shares", "pay-revenue", "1", "10000ulearn", "inv-1", "--from", "customer")
	require.Zero(t, code, log)
	code, log = n.tx("tx", "modelgov", "propose", "price", "1", "3000ulearn", "--summary", "a price for the holders", "--from", "p2")
	require.Zero(t, code, log)

	// The app, served by protolearnd web.
	webAddr := startWeb(t, n)

	// The stand-in for Keplr signs with p1's key: the Go side holds it and signs each SignDoc
	// the page hands over, as Keplr's signDirect does.
	holder := n.addr("p1")
	keyHex := strings.TrimSpace(n.must("keys", "export", "p1", "--unarmored-hex", "--unsafe", "--yes", "--keyring-backend", "test"))
	raw, err := hex.DecodeString(keyHex)
	require.NoError(t, err)
	priv := &secp256k1.PrivKey{Key: raw}
	signer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "content-type")
		if r.Method == http.MethodOptions {
			return
		}
		var doc struct{ BodyBytes, AuthInfoBytes, ChainID, AccountNumber string }
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, _ := base64.StdEncoding.DecodeString(doc.BodyBytes)
		auth, _ := base64.StdEncoding.DecodeString(doc.AuthInfoBytes)
		num, _ := strconv.ParseUint(doc.AccountNumber, 10, 64)
		bz, err := (&txtypes.SignDoc{BodyBytes: body, AuthInfoBytes: auth, ChainId: doc.ChainID, AccountNumber: num}).Marshal()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sig, err := priv.Sign(bz)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"signature": base64.StdEncoding.EncodeToString(sig)})
	}))
	t.Cleanup(signer.Close)
	fakeKeplr := fmt.Sprintf(`(() => {
  const pub = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0));
  const b64 = (u) => btoa(String.fromCharCode(...u));
  window.keplr = {
    experimentalSuggestChain: async (info) => { window.__suggested = info; },
    enable: async () => {},
    getOfflineSigner: () => ({
      getAccounts: async () => [{ address: %q, algo: "secp256k1", pubkey: pub }],
      signDirect: async (_addr, doc) => {
        const r = await fetch(%q, { method: "POST", body: JSON.stringify({
          BodyBytes: b64(doc.bodyBytes), AuthInfoBytes: b64(doc.authInfoBytes), ChainID: doc.chainId, AccountNumber: String(doc.accountNumber) }) });
        const j = await r.json();
        return { signed: doc, signature: { pub_key: { type: "tendermint/PubKeySecp256k1", value: %q }, signature: j.signature } };
      },
    }),
  };
})();`, base64.StdEncoding.EncodeToString(priv.PubKey().Bytes()), holder, signer.URL, base64.StdEncoding.EncodeToString(priv.PubKey().Bytes()))

	ctx := newBrowser(t, chromium)
	require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fakeKeplr})
		return err
	})))
	shots := t.TempDir()
	if os.Getenv("UPDATE_SCREENSHOTS") != "" {
		shots = filepath.Join("..", "..", "docs")
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name), png, 0o644))
	}
	base := "http://" + webAddr + "/"
	loads := 0
	open := func(hash, ready string) {
		t.Helper()
		loads++ // a whole load each time (a new query string): a hash change alone fires no load event
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s?load=%d%s", base, loads, hash)), chromedp.WaitVisible(chromedp.CSS(ready))), hash)
	}
	q := func(into any, args ...string) {
		t.Helper()
		out := n.must(append(append([]string{"query"}, args...), "--node", "tcp://"+n.rpc, "--output", "json")...)
		require.NoError(t, json.Unmarshal([]byte(out), into), out)
	}
	type ownership struct {
		Ownerships []struct {
			ModelID   string                  `json:"model_id"`
			Fraction  string                  `json:"fraction"`
			Claimable struct{ Amount string } `json:"claimable"`
		} `json:"ownerships"`
	}
	cliOwnership := func(addr string) (fraction, claimable string) {
		var o ownership
		q(&o, "shares", "ownership", addr)
		for _, x := range o.Ownerships {
			if x.ModelID == "1" {
				return x.Fraction, x.Claimable.Amount
			}
		}
		return "", "0"
	}

	// Models.
	open("#/models", `[data-testid="models"] tbody tr`)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="models"]`)))
	require.NoError(t, err)
	require.Contains(t, text, "genesis-model")
	screenshot("web-models.png")

	// A model: its holders, their fractions and claimable revenue, as the CLI has them.
	open("#/models/1", `[data-testid="holders"] tbody tr[data-holder]`)
	var cliHolders struct {
		Holders []struct {
			Address string
			Balance struct{ Amount string }
		}
	}
	q(&cliHolders, "shares", "holders", "1")
	require.Len(t, cliHolders.Holders, 2)
	for _, hd := range cliHolders.Holders {
		attrs, err := chromedp.Run(ctx, chromedp.Attributes(chromedp.CSS(fmt.Sprintf(`tr[data-holder=%q]`, hd.Address))))
		require.NoError(t, err)
		fraction, claimable := cliOwnership(hd.Address)
		require.Equal(t, hd.Balance.Amount, attrs["data-balance"], hd.Address)
		require.Equal(t, fraction, attrs["data-fraction"], hd.Address)
		require.Equal(t, claimable, attrs["data-claimable"], hd.Address)
		row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`tr[data-holder=%q]`, hd.Address))))
		require.NoError(t, err)
		f, err := strconv.ParseFloat(fraction, 64)
		require.NoError(t, err)
		require.Contains(t, row, strings.TrimRight(strings.TrimRight(strconv.FormatFloat(f*100, 'f', 2, 64), "0"), ".")+"%", "the fraction shown")
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="ownership-chart"]`))))
	screenshot("web-model.png")

	// The wallet: Keplr is offered the chain from the registry files, then p1 votes from the page.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="connect"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wallet-address"]`))))
	suggested, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__suggested)`))
	require.NoError(t, err)
	require.Contains(t, suggested, `"chainId":"`+chainID+`"`)
	require.Contains(t, suggested, `"coinMinimalDenom":"share/1"`)
	done := func(what string) {
		t.Helper()
		var state string
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			var err error
			state, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector("[data-done], .error"); return e ? (e.classList.contains("error") ? "error: " : "done: ") + e.textContent : ""; })()`))
			require.NoError(t, err)
			if state != "" {
				break
			}
		}
		if !strings.HasPrefix(state, "done: ") {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").outerHTML`))
			t.Fatalf("%s: %q; the page:\n%s", what, state, html)
		}
	}
	open("#/models/1", `[data-vote="1-yes"]`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-vote="1-yes"]`))))
	done("vote")
	var votes struct {
		Votes []struct {
			Vote  struct{ Voter, Option string }
			Power string
		}
	}
	q(&votes, "modelgov", "votes", "1")
	require.Len(t, votes.Votes, 1)
	require.Equal(t, holder, votes.Votes[0].Vote.Voter)
	require.Equal(t, "VOTE_OPTION_YES", votes.Votes[0].Vote.Option)
	require.Equal(t, "3000000", votes.Votes[0].Power, "p1's shares")

	// A deposit for inference.
	open("#/models/1", `[data-testid="deposit"] input`)
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`[data-testid="deposit"] input`), "2.5"),
		chromedp.Click(chromedp.CSS(`[data-testid="deposit"] button`))))
	done("deposit")
	var deposits struct {
		Deposits []struct {
			ModelID string `json:"model_id"`
			Balance struct{ Amount string }
		}
	}
	q(&deposits, "inference", "deposits", holder)
	require.Len(t, deposits.Deposits, 1)
	require.Equal(t, "1", deposits.Deposits[0].ModelID)
	require.Equal(t, "2500000", deposits.Deposits[0].Balance.Amount)

	// The account: claim the revenue, then send shares.
	_, claimable := cliOwnership(holder)
	require.NotEqual(t, "0", claimable)
	open("#/account/"+holder, `[data-claim="1"]`)
	screenshot("web-account.png")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-claim="1"]`))))
	done("claim")
	_, after := cliOwnership(holder)
	require.Equal(t, "0", after, "claimed from the page")

	friend := n.addr("friend")
	open("#/account/"+holder, `[data-testid="send-shares"] input[name="amount"]`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="send-shares"] input[name="amount"]`), "0.5"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="send-shares"] input[name="model"]`), "1"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="send-shares"] input[name="to"]`), friend),
		chromedp.Click(chromedp.CSS(`[data-testid="send-shares"] button`))))
	done("send")
	var bal struct{ Balance struct{ Amount string } }
	q(&bal, "bank", "balance", friend, "share/1")
	require.Equal(t, "500000", bal.Balance.Amount)

	open("#/challenges", `[data-testid="challenges-open"]`)
	screenshot("web-challenges.png")
}

// startWeb runs protolearnd web for n (with more flags), stopped when the test ends, and
// returns its address.
func startWeb(t *testing.T, n *node, flags ...string) string {
	t.Helper()
	webAddr := "127.0.0.1:" + freePort(t)
	web := exec.Command(binary, append([]string{
		"web", "--node", "tcp://" + n.rpc, "--rest-address", "http://" + n.rest, "--grpc-address", n.grpc,
		"--rpc-address", "http://" + n.rpc, "--listen", webAddr,
	}, flags...)...)
	webLog := &lockedBuffer{}
	web.Stdout, web.Stderr = webLog, webLog
	web.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, web.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-web.Process.Pid, syscall.SIGKILL)
		_ = web.Wait()
		if t.Failed() {
			t.Logf("protolearnd web log:\n%s", webLog.String())
		}
	})
	eventually(t, 30*time.Second, "protolearnd web serves", func() bool {
		res, err := http.Get("http://" + webAddr + "/config.json")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return webAddr
}

// newBrowser starts headless chromium for the test (closed when it ends) and returns its
// context, bounded to 4 minutes.
func newBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
