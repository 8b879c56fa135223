package registry

import (
	"encoding/json"
	"strings"
	"testing"

	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
)

func info() Info {
	meta := func(base, display, name string) banktypes.Metadata {
		return banktypes.Metadata{
			Description: "a token", Base: base, Display: display, Name: name, Symbol: display,
			DenomUnits: []*banktypes.DenomUnit{{Denom: base, Exponent: 0}, {Denom: display, Exponent: 6}},
		}
	}
	return Info{
		ChainName: "protolearn", NetworkType: "testnet", ChainID: "protolearn-local-1", Bech32Prefix: "learn",
		BondDenom: "ulearn", FeeDenom: "ulearn", MinGasPrice: 0,
		Metadata: []banktypes.Metadata{
			meta("ulearn", "LEARN", "Learn"),
			meta("share/1", "SHARE-1", "tiny-go-lm shares (model 1)"),
			meta("share/12", "SHARE-12", "a model with a rather long name shares (model 12)"),
		},
		RPC: []string{"http://127.0.0.1:26657"}, REST: []string{"http://127.0.0.1:1317"}, GRPC: []string{"127.0.0.1:9090"},
		GoVersion: "go1.26.8", SDKVersion: "v0.53.8", CometVersion: "v0.38.23",
	}
}

// What Build writes fits the registry's schemas, and reads back strictly the same.
func TestBuildFitsTheSchemas(t *testing.T) {
	c, l := Build(info())
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Codebase.Language.Version != "1.26.8" || c.Fees.FeeTokens[0].Denom != "ulearn" || c.Staking.StakingTokens[0].Denom != "ulearn" {
		t.Fatalf("chain.json: %+v", c)
	}
	if len(l.Assets) != 3 || l.Assets[1].Base != "share/1" || l.Assets[1].Name != "tiny-go-lm shares (model 1)" {
		t.Fatalf("assets: %+v", l.Assets)
	}
	odd := info()
	odd.GoVersion, odd.SDKVersion = "go1.25rc1", "v0.53.8-0.20260101-abcdef"
	if c, _ := Build(odd); c.Validate() != nil || c.Codebase.Language.Version != "" || c.Codebase.SDK.Version != "" {
		t.Fatalf("versions the registry does not take are left out: %+v %v", c.Codebase, c.Validate())
	}
	if l.Assets[2].Name != "protolearn model 12 shares" {
		t.Fatalf("a name over 30 characters is replaced by a shorter one: %q", l.Assets[2].Name)
	}
	for _, v := range []any{c, l} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		switch v.(type) {
		case Chain:
			if _, err := DecodeChain(b); err != nil {
				t.Fatal(err)
			}
		case AssetList:
			if _, err := DecodeAssetList(b); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Each rule of the schemas that a bad generator (or a hand edit) could break is caught.
func TestValidateRefusesWhatTheSchemasRefuse(t *testing.T) {
	chainCases := map[string]func(*Chain){
		"no chain_name":           func(c *Chain) { c.ChainName = "" },
		"chain_name not [a-z0-9]": func(c *Chain) { c.ChainName = "PROTO-LEARN" },
		"chain_name partly":       func(c *Chain) { c.ChainName = "proto-learn" },
		"cosmos without chain_id": func(c *Chain) { c.ChainID = "" },
		"cosmos without prefix":   func(c *Chain) { c.Bech32Prefix = "" },
		"unknown chain_type":      func(c *Chain) { c.ChainType = "evm" },
		"unknown network_type":    func(c *Chain) { c.NetworkType = "localnet" },
		"unknown status":          func(c *Chain) { c.Status = "paused" },
		"unknown key algo":        func(c *Chain) { c.KeyAlgos = []string{"rsa"} },
		"version not simple":      func(c *Chain) { c.Codebase.SDK.Version = "v0.53.8-rc1" },
		"fee token without denom": func(c *Chain) { c.Fees.FeeTokens[0].Denom = "" },
		"bad $schema":             func(c *Chain) { c.Schema = "chain.schema.json" },
		"empty endpoint":          func(c *Chain) { c.APIs.RPC = []Endpoint{{}} },
		"long description":        func(c *Chain) { c.Description = strings.Repeat("x", 3001) },
	}
	for name, edit := range chainCases {
		c, _ := Build(info())
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("chain.json with %s passed", name)
		}
	}
	assetCases := map[string]func(*AssetList){
		"no assets":          func(l *AssetList) { l.Assets = nil },
		"name over 30":       func(l *AssetList) { l.Assets[0].Name = strings.Repeat("n", 31) },
		"display not a unit": func(l *AssetList) { l.Assets[0].Display = "KLEARN" },
		"no symbol":          func(l *AssetList) { l.Assets[1].Symbol = "" },
		"unknown asset type": func(l *AssetList) { l.Assets[1].TypeAsset = "nft" },
		"listed twice":       func(l *AssetList) { l.Assets = append(l.Assets, l.Assets[0]) },
		"bad $schema":        func(l *AssetList) { l.Schema = "../chain.schema.json" },
		"no chain_name":      func(l *AssetList) { l.ChainName = "" },
	}
	for name, edit := range assetCases {
		_, l := Build(info())
		edit(&l)
		if err := l.Validate(); err == nil {
			t.Errorf("assetlist.json with %s passed", name)
		}
	}
	// A field the schema does not know (additionalProperties false).
	if _, err := DecodeChain([]byte(`{"chain_name":"protolearn","chain_type":"cosmos","gas_price":1}`)); err == nil {
		t.Error("an unknown field in chain.json passed")
	}
	if _, err := DecodeAssetList([]byte(`{"chain_name":"protolearn","assets":[{"base":"u","display":"u","name":"n","symbol":"s","denom_units":[{"denom":"u","exponent":0,"scale":1}]}]}`)); err == nil {
		t.Error("an unknown field in a denom unit passed")
	}
}
