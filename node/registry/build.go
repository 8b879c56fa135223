package registry

import (
	"fmt"
	"strings"

	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

// Info is what a live chain says about itself, and where it is served.
type Info struct {
	// ChainName is the registry's name for the chain ([a-z0-9]+), NetworkType mainnet, testnet
	// or devnet.
	ChainName, NetworkType string
	ChainID                string
	Bech32Prefix           string
	// BondDenom is the staking token; FeeDenom the fee token, with the node's minimum gas
	// price in it.
	BondDenom, FeeDenom string
	MinGasPrice         float64
	// Metadata are the bank's denom metadata: LEARN and every model's share/N.
	Metadata []banktypes.Metadata
	// RPC, REST and GRPC are the endpoints wallets and explorers use.
	RPC, REST, GRPC []string
	// GoVersion, SDKVersion and CometVersion are what the node binary was built with.
	GoVersion, SDKVersion, CometVersion string
}

// Build is chain.json and assetlist.json for the chain.
func Build(in Info) (Chain, AssetList) {
	slip44 := 118 // the Cosmos coin type: protolearn keys derive on m/44'/118'
	gas := func(f float64) *float64 { return &f }
	low := max(in.MinGasPrice, 0)
	c := Chain{
		Schema: "../chain.schema.json", ChainName: in.ChainName, ChainType: "cosmos", ChainID: in.ChainID,
		PrettyName: "protolearn", Status: "live", NetworkType: in.NetworkType, Bech32Prefix: in.Bech32Prefix,
		DaemonName: "protolearnd", NodeHome: "$HOME/.protolearnd", KeyAlgos: []string{"secp256k1"}, Slip44: &slip44,
		Fees: &Fees{FeeTokens: []FeeToken{{
			Denom: in.FeeDenom, FixedMinGasPrice: gas(in.MinGasPrice),
			LowGasPrice: gas(low), AverageGasPrice: gas(max(low, 0.025)), HighGasPrice: gas(max(low, 0.04)),
		}}},
		Staking: &Staking{StakingTokens: []Denom{{Denom: in.BondDenom}}},
		Codebase: &Codebase{
			GitRepo:   "https://github.com/protolearn/protolearn",
			Language:  &Component{Type: "go", Version: simple(strings.TrimPrefix(in.GoVersion, "go"))},
			SDK:       &Component{Type: "cosmos", Version: simple(in.SDKVersion), Repo: "https://github.com/cosmos/cosmos-sdk"},
			Consensus: &Component{Type: "cometbft", Version: simple(in.CometVersion), Repo: "https://github.com/cometbft/cometbft"},
		},
		Description: "protolearn: compute providers train one large model together, model-parallel over the internet; " +
			"verified work earns on-chain shares of the model, which are paid its inference revenue.",
		APIs:     &APIs{RPC: endpoints(in.RPC), REST: endpoints(in.REST), GRPC: endpoints(in.GRPC)},
		Keywords: []string{"protocol learning", "decentralized training", "zero-knowledge"},
	}
	l := AssetList{Schema: "../assetlist.schema.json", ChainName: in.ChainName}
	for _, m := range in.Metadata {
		a := Asset{Description: m.Description, Base: m.Base, Display: m.Display, Symbol: m.Symbol, TypeAsset: "sdk.coin"}
		for _, u := range m.DenomUnits {
			a.DenomUnits = append(a.DenomUnits, DenomUnit{Denom: u.Denom, Exponent: int(u.Exponent), Aliases: u.Aliases})
		}
		fallback := m.Symbol
		if model, ok := strings.CutPrefix(m.Base, "share/"); ok {
			fallback = fmt.Sprintf("protolearn model %s shares", model)
			a.Keywords = []string{"protolearn", "model shares", "model " + model}
		}
		a.Name = assetName(m.Name, fallback)
		l.Assets = append(l.Assets, a)
	}
	return c, l
}

func endpoints(addrs []string) []Endpoint {
	var out []Endpoint
	for _, a := range addrs {
		out = append(out, Endpoint{Address: a, Provider: "protolearn"})
	}
	return out
}

// simple is v, a version the registry takes (v1.2.3), or nothing: a toolchain such as
// go1.25rc1 or a replaced module's version is left out rather than make the file invalid.
func simple(v string) string {
	if versionRe.MatchString(v) {
		return v
	}
	return ""
}
