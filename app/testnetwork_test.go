package app_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/testutil/network"

	"github.com/protolearn/protolearn/app"
)

// TestNetworkProducesBlocks starts two in-process validators on loopback and reads state back over
// the REST API of the first, from the SDK and from x/compute.
func TestNetworkProducesBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an in-process network")
	}
	cfg, err := app.DefaultTestNetworkConfig()
	require.NoError(t, err)
	cfg.NumValidators = 2

	net, err := network.New(t, t.TempDir(), cfg)
	require.NoError(t, err)
	t.Cleanup(net.Cleanup)

	_, err = net.WaitForHeight(3)
	require.NoError(t, err)

	val := net.Validators[0]
	for _, path := range []string{
		"/cosmos/bank/v1beta1/balances/" + val.Address.String(),
		"/cosmos/bank/v1beta1/denoms_metadata/" + app.BondDenom,
		"/protolearn/compute/v1/params",
	} {
		body := httpGet(t, val.APIAddress+path)
		require.Contains(t, body, app.BondDenom, path)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec // test URL on loopback
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, fmt.Sprintf("GET %s: %s", url, body))
	return string(body)
}
