// Package registry describes a protolearn chain in the cosmos chain-registry's formats:
// chain.json (the chain: id, bech32 prefix, fee and staking tokens, endpoints, codebase) and
// assetlist.json (its tokens: LEARN and every model's share/N, from the chain's bank denom
// metadata). `protolearnd registry` builds both from a live node, so they never drift from it;
// wallets (Keplr's experimentalSuggestChain, in the web app) and explorers read them.
//
// Validate holds the files to the registry's schemas (chain.schema.json and
// assetlist.schema.json of github.com/cosmos/chain-registry, draft-07) for every field written
// here: the required fields, enums, patterns and lengths, and no field the schema does not
// know (additionalProperties false, which Decode enforces).
package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Chain is chain.json, the fields protolearn fills.
type Chain struct {
	Schema       string    `json:"$schema,omitempty"`
	ChainName    string    `json:"chain_name"`
	ChainType    string    `json:"chain_type"`
	ChainID      string    `json:"chain_id,omitempty"`
	PrettyName   string    `json:"pretty_name,omitempty"`
	Website      string    `json:"website,omitempty"`
	Status       string    `json:"status,omitempty"`
	NetworkType  string    `json:"network_type,omitempty"`
	Bech32Prefix string    `json:"bech32_prefix,omitempty"`
	DaemonName   string    `json:"daemon_name,omitempty"`
	NodeHome     string    `json:"node_home,omitempty"`
	KeyAlgos     []string  `json:"key_algos,omitempty"`
	Slip44       *int      `json:"slip44,omitempty"`
	Fees         *Fees     `json:"fees,omitempty"`
	Staking      *Staking  `json:"staking,omitempty"`
	Codebase     *Codebase `json:"codebase,omitempty"`
	Description  string    `json:"description,omitempty"`
	APIs         *APIs     `json:"apis,omitempty"`
	Keywords     []string  `json:"keywords,omitempty"`
}

// Fees lists the fee tokens.
type Fees struct {
	FeeTokens []FeeToken `json:"fee_tokens"`
}

// FeeToken is a fee token with its gas prices (in base units per gas).
type FeeToken struct {
	Denom            string   `json:"denom"`
	FixedMinGasPrice *float64 `json:"fixed_min_gas_price,omitempty"`
	LowGasPrice      *float64 `json:"low_gas_price,omitempty"`
	AverageGasPrice  *float64 `json:"average_gas_price,omitempty"`
	HighGasPrice     *float64 `json:"high_gas_price,omitempty"`
}

// Staking lists the staking tokens.
type Staking struct {
	StakingTokens []Denom `json:"staking_tokens"`
}

// Denom names a token.
type Denom struct {
	Denom string `json:"denom"`
}

// Codebase is what the chain runs.
type Codebase struct {
	GitRepo            string     `json:"git_repo,omitempty"`
	RecommendedVersion string     `json:"recommended_version,omitempty"`
	Language           *Component `json:"language,omitempty"`
	SDK                *Component `json:"sdk,omitempty"`
	Consensus          *Component `json:"consensus,omitempty"`
}

// Component is a language, SDK or consensus engine and its version.
type Component struct {
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
	Repo    string `json:"repo,omitempty"`
}

// APIs are the chain's public endpoints.
type APIs struct {
	RPC  []Endpoint `json:"rpc,omitempty"`
	REST []Endpoint `json:"rest,omitempty"`
	GRPC []Endpoint `json:"grpc,omitempty"`
}

// Endpoint is one endpoint.
type Endpoint struct {
	Address  string `json:"address"`
	Provider string `json:"provider,omitempty"`
}

// AssetList is assetlist.json.
type AssetList struct {
	Schema    string  `json:"$schema,omitempty"`
	ChainName string  `json:"chain_name"`
	Assets    []Asset `json:"assets"`
}

// Asset is one token.
type Asset struct {
	Description string      `json:"description,omitempty"`
	DenomUnits  []DenomUnit `json:"denom_units"`
	TypeAsset   string      `json:"type_asset,omitempty"`
	Base        string      `json:"base"`
	Name        string      `json:"name"`
	Display     string      `json:"display"`
	Symbol      string      `json:"symbol"`
	Keywords    []string    `json:"keywords,omitempty"`
}

// DenomUnit is a unit of a token: its denom and the power of ten of base units it is.
type DenomUnit struct {
	Denom    string   `json:"denom"`
	Exponent int      `json:"exponent"`
	Aliases  []string `json:"aliases,omitempty"`
}

// The schemas' enums and patterns for the fields above.
var (
	chainTypes   = []string{"cosmos", "eip155", "bip122", "polkadot", "solana", "algorand", "arweave", "ergo", "fil", "hedera", "monero", "reef", "stacks", "starknet", "stellar", "tezos", "vechain", "waves", "xrpl", "unknown"}
	statuses     = []string{"live", "upcoming", "killed"}
	networkTypes = []string{"mainnet", "testnet", "devnet"}
	keyAlgos     = []string{"secp256k1", "ethsecp256k1", "ed25519", "sr25519", "bn254"}
	sdkTypes     = []string{"cosmos", "penumbra", "other"}
	consensus    = []string{"tendermint", "cometbft", "sei-tendermint"}
	languages    = []string{"go", "rust", "solidity", "other"}
	assetTypes   = []string{"sdk.coin", "cw20", "erc20", "ics20", "snip20", "snip25"}

	// The schema's pattern is unanchored (any name with one such character passes); the name
	// is held to what the registry's directories use.
	chainNameRe    = regexp.MustCompile(`^[a-z0-9]+$`)
	chainSchemaRe  = regexp.MustCompile(`^(\.\./)+chain\.schema\.json$`)
	assetSchemaRe  = regexp.MustCompile(`^(\.\./)+assetlist\.schema\.json$`)
	versionRe      = regexp.MustCompile(`^v?\d+(\.\d+){0,2}$`)
	maxDescription = 3000
	maxAssetName   = 30
	maxKeywords    = 20
)

// Validate checks c against chain.schema.json's rules for the fields Chain has.
func (c Chain) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	nonEmpty := func(field, v string) {
		if v == "" {
			bad("%s: empty (minLength 1)", field)
		}
	}
	oneOf := func(field, v string, allowed []string) {
		if v != "" && !slices.Contains(allowed, v) {
			bad("%s %q: not one of %v", field, v, allowed)
		}
	}
	if c.Schema != "" && !chainSchemaRe.MatchString(c.Schema) {
		bad("$schema %q: want a relative path to chain.schema.json", c.Schema)
	}
	nonEmpty("chain_name", c.ChainName)
	if c.ChainName != "" && !chainNameRe.MatchString(c.ChainName) {
		bad("chain_name %q: want [a-z0-9]+", c.ChainName)
	}
	nonEmpty("chain_type", c.ChainType)
	oneOf("chain_type", c.ChainType, chainTypes)
	if c.ChainType == "cosmos" { // the schema's allOf: a cosmos chain names its id and prefix
		nonEmpty("chain_id", c.ChainID)
		nonEmpty("bech32_prefix", c.Bech32Prefix)
	}
	oneOf("status", c.Status, statuses)
	oneOf("network_type", c.NetworkType, networkTypes)
	if c.Website != "" {
		if u, err := url.Parse(c.Website); err != nil || u.Scheme == "" {
			bad("website %q: not a URI", c.Website)
		}
	}
	for _, a := range c.KeyAlgos {
		oneOf("key_algos", a, keyAlgos)
	}
	if len(c.Description) > maxDescription {
		bad("description: %d characters, at most %d", len(c.Description), maxDescription)
	}
	if c.Fees != nil {
		if c.Fees.FeeTokens == nil {
			bad("fees.fee_tokens: required")
		}
		for i, t := range c.Fees.FeeTokens {
			nonEmpty(fmt.Sprintf("fees.fee_tokens[%d].denom", i), t.Denom)
		}
	}
	if c.Staking != nil {
		if c.Staking.StakingTokens == nil {
			bad("staking.staking_tokens: required")
		}
		for i, t := range c.Staking.StakingTokens {
			nonEmpty(fmt.Sprintf("staking.staking_tokens[%d].denom", i), t.Denom)
		}
	}
	if cb := c.Codebase; cb != nil {
		component := func(field string, p *Component, types []string) {
			if p == nil {
				return
			}
			nonEmpty(field+".type", p.Type)
			oneOf(field+".type", p.Type, types)
			if p.Version != "" && !versionRe.MatchString(p.Version) {
				bad("%s.version %q: want a simple version (v1.2.3)", field, p.Version)
			}
		}
		component("codebase.language", cb.Language, languages)
		component("codebase.sdk", cb.SDK, sdkTypes)
		component("codebase.consensus", cb.Consensus, consensus)
		if cb.GitRepo != "" {
			if u, err := url.Parse(cb.GitRepo); err != nil || u.Scheme == "" {
				bad("codebase.git_repo %q: not a URI", cb.GitRepo)
			}
		}
	}
	if c.APIs != nil {
		for kind, eps := range map[string][]Endpoint{"rpc": c.APIs.RPC, "rest": c.APIs.REST, "grpc": c.APIs.GRPC} {
			for i, e := range eps {
				nonEmpty(fmt.Sprintf("apis.%s[%d].address", kind, i), e.Address)
			}
		}
	}
	if len(c.Keywords) > maxKeywords {
		bad("keywords: %d, at most %d", len(c.Keywords), maxKeywords)
	}
	return errors.Join(errs...)
}

// Validate checks l against assetlist.schema.json's rules for the fields AssetList has, and
// that each asset's base and display are among its units (the schema says so in words).
func (l AssetList) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if l.Schema != "" && !assetSchemaRe.MatchString(l.Schema) {
		bad("$schema %q: want a relative path to assetlist.schema.json", l.Schema)
	}
	if l.ChainName == "" {
		bad("chain_name: required")
	}
	if len(l.Assets) == 0 {
		bad("assets: at least one")
	}
	seen := map[string]bool{}
	for i, a := range l.Assets {
		at := fmt.Sprintf("assets[%d] (%s)", i, a.Base)
		for field, v := range map[string]string{"base": a.Base, "display": a.Display, "name": a.Name, "symbol": a.Symbol} {
			if v == "" {
				bad("%s.%s: required", at, field)
			}
		}
		if utf8.RuneCountInString(a.Name) > maxAssetName {
			bad("%s.name %q: %d characters, at most %d", at, a.Name, utf8.RuneCountInString(a.Name), maxAssetName)
		}
		if a.TypeAsset != "" && !slices.Contains(assetTypes, a.TypeAsset) {
			bad("%s.type_asset %q: not one of %v", at, a.TypeAsset, assetTypes)
		}
		if len(a.DenomUnits) == 0 {
			bad("%s.denom_units: at least one", at)
		}
		units := map[string]bool{}
		for _, u := range a.DenomUnits {
			if u.Denom == "" {
				bad("%s.denom_units: a unit without a denom", at)
			}
			units[u.Denom] = true
		}
		if !units[a.Base] || !units[a.Display] {
			bad("%s: base %q and display %q must be among its denom_units", at, a.Base, a.Display)
		}
		if seen[a.Base] {
			bad("%s: listed twice", at)
		}
		seen[a.Base] = true
		if len(a.Keywords) > maxKeywords {
			bad("%s.keywords: %d, at most %d", at, len(a.Keywords), maxKeywords)
		}
	}
	return errors.Join(errs...)
}

// DecodeChain reads chain.json strictly: a field the schema does not know is an error
// (additionalProperties false), as is a field of the wrong type.
func DecodeChain(b []byte) (Chain, error) {
	var c Chain
	return c, strict(b, &c)
}

// DecodeAssetList reads assetlist.json strictly.
func DecodeAssetList(b []byte) (AssetList, error) {
	var l AssetList
	return l, strict(b, &l)
}

func strict(b []byte, into any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if d.More() {
		return errors.New("registry: data after the JSON object")
	}
	return nil
}

// assetName is a name within the schema's 30 characters: the metadata's own, else a shorter
// one that still says what the token is.
func assetName(name, fallback string) string {
	if name != "" && utf8.RuneCountInString(name) <= maxAssetName {
		return name
	}
	return strings.TrimSpace(fallback)
}
