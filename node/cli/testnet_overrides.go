package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
)

// genesisSet is one genesis value of init-files: the JSON value for the existing field at path.
type genesisSet struct {
	source string   // where it was given, for errors: "--genesis-set …" or "file.json"
	path   []string // e.g. app_state, gov, params, voting_period
	value  json.RawMessage
}

// parseGenesisSet reads one --genesis-set path=value.
func parseGenesisSet(s string) (genesisSet, error) {
	path, value, ok := strings.Cut(s, "=")
	source := "--" + flagGenesisSet + " " + s
	if !ok {
		return genesisSet{}, fmt.Errorf(`%s: want path=value, e.g. 'app_state.gov.params.voting_period="60s"'`, source)
	}
	return newGenesisSet(source, path, []byte(value))
}

func newGenesisSet(source, path string, value []byte) (genesisSet, error) {
	parts := strings.Split(path, ".")
	for _, p := range parts {
		if p == "" {
			return genesisSet{}, fmt.Errorf("%s: path %q has an empty part: write it as dot-separated field names, e.g. app_state.verify.params.challenge_rate", source, path)
		}
	}
	if !json.Valid(value) {
		return genesisSet{}, fmt.Errorf(`%s: the value %s is not JSON: strings need double quotes, e.g. path='"60s"'`, source, value)
	}
	return genesisSet{source: source, path: parts, value: bytes.TrimSpace(value)}, nil
}

// readGenesisOverrides reads a --genesis-overrides file: one JSON object of path: value, applied
// in the file's order.
func readGenesisOverrides(file string) ([]genesisSet, error) {
	bz, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagGenesisOverrides, err)
	}
	dec := json.NewDecoder(bytes.NewReader(bz))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf(`--%s %s: want one JSON object, {"app_state.gov.params.voting_period": "60s", …}`, flagGenesisOverrides, file)
	}
	var sets []genesisSet
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("--%s %s: %w", flagGenesisOverrides, file, err)
		}
		path, _ := tok.(string) // an object's keys are strings
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("--%s %s: the value of %q: %w", flagGenesisOverrides, file, path, err)
		}
		set, err := newGenesisSet(file, path, value)
		if err != nil {
			return nil, err
		}
		sets = append(sets, set)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("--%s %s: %w", flagGenesisOverrides, file, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--%s %s: text after the JSON object", flagGenesisOverrides, file)
	}
	return sets, nil
}

// testnetGenesisSets gathers every genesis value of args in the order they apply: the verifying
// keys, then each override file, then each --genesis-set, so that a later one wins.
func testnetGenesisSets(args testnetArgs) ([]genesisSet, error) {
	var sets []genesisSet
	if args.verifyingKeysDir != "" {
		vks, err := readVerifyingKeys(args.verifyingKeysDir, args.verifyingShapes)
		if err != nil {
			return nil, err
		}
		sets = append(sets, vks)
	}
	for _, f := range args.overrideFiles {
		fileSets, err := readGenesisOverrides(f)
		if err != nil {
			return nil, err
		}
		sets = append(sets, fileSets...)
	}
	return append(sets, args.sets...), nil
}

// verifyingKey is one entry of x/verify's params.verifying_keys.
type verifyingKey struct {
	Shape string `json:"shape"`
	Key   []byte `json:"key"` // base64 in JSON
}

// readVerifyingKeys makes the x/verify verifying_keys value from the ceremony outputs
// dir/<shape>/verifying.key of shapes, or of every shape in dir when none is given (none at all
// when dir does not exist: a local chain without ceremonies gets keys later, by governance).
func readVerifyingKeys(dir string, shapes []string) (genesisSet, error) {
	source := "--" + flagVerifyingKeys + " " + dir
	if len(shapes) == 0 {
		matches, err := filepath.Glob(filepath.Join(dir, "*", "verifying.key"))
		if err != nil {
			return genesisSet{}, fmt.Errorf("%s: %w", source, err)
		}
		for _, m := range matches {
			shapes = append(shapes, filepath.Base(filepath.Dir(m)))
		}
		sort.Strings(shapes)
	}
	keys := make([]verifyingKey, 0, len(shapes))
	for _, s := range shapes {
		path := filepath.Join(dir, s, "verifying.key")
		key, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return genesisSet{}, fmt.Errorf("%s: no %s: run the ceremony of %s first (scripts/ceremony.sh %s %s)", source, path, s, s, filepath.Join(dir, s))
		}
		if err != nil {
			return genesisSet{}, fmt.Errorf("%s: %w", source, err)
		}
		keys = append(keys, verifyingKey{Shape: s, Key: key})
	}
	value, err := json.Marshal(keys)
	if err != nil {
		return genesisSet{}, fmt.Errorf("%s: %w", source, err)
	}
	return genesisSet{source: source, path: []string{"app_state", "verify", "params", "verifying_keys"}, value: value}, nil
}

// applyGenesisSets writes each value into genesis, in order. A path must name a field the genesis
// has, and the value must have that field's JSON type (a string for durations and 64-bit numbers),
// so a typo fails here instead of being dropped or failing later as a decoding error.
func applyGenesisSets(genesis *genutiltypes.AppGenesis, sets []genesisSet) (*genutiltypes.AppGenesis, error) {
	if len(sets) == 0 {
		return genesis, nil
	}
	bz, err := json.Marshal(genesis)
	if err != nil {
		return nil, fmt.Errorf("encode genesis: %w", err)
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.UseNumber() // keeps 64-bit numbers exact
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode genesis: %w", err)
	}
	for _, s := range sets {
		if err := setGenesisValue(doc, s); err != nil {
			return nil, err
		}
	}
	if bz, err = json.Marshal(doc); err != nil {
		return nil, fmt.Errorf("encode genesis: %w", err)
	}
	out := &genutiltypes.AppGenesis{}
	if err := json.Unmarshal(bz, out); err != nil {
		return nil, fmt.Errorf("the genesis with the values of --%s and --%s: %w", flagGenesisOverrides, flagGenesisSet, err)
	}
	return out, nil
}

func setGenesisValue(doc map[string]any, s genesisSet) error {
	var value any
	dec := json.NewDecoder(bytes.NewReader(s.value))
	dec.UseNumber()
	if err := dec.Decode(&value); err != nil {
		return fmt.Errorf("%s: %w", s.source, err)
	}
	obj := doc
	for i, key := range s.path {
		at := strings.Join(s.path[:i], ".")
		old, ok := obj[key]
		if !ok {
			where := "the genesis"
			if at != "" {
				where = at
			}
			return fmt.Errorf("%s: %s has no field %q; it has: %s", s.source, where, key, strings.Join(fieldNames(obj), ", "))
		}
		if i == len(s.path)-1 {
			if want, got := jsonKind(old), jsonKind(value); old != nil && want != got {
				return fmt.Errorf("%s: %s is a JSON %s in genesis (now %s), not a %s: give a value of its type",
					s.source, strings.Join(s.path, "."), want, abbreviate(old), got)
			}
			obj[key] = value
			return nil
		}
		next, isObj := old.(map[string]any)
		if !isObj {
			return fmt.Errorf("%s: %s is a JSON %s, not an object: it has no field %q", s.source, strings.Join(s.path[:i+1], "."), jsonKind(old), s.path[i+1])
		}
		obj = next
	}
	return nil
}

func fieldNames(obj map[string]any) []string {
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// abbreviate shows a genesis value in an error, cut short.
func abbreviate(v any) string {
	bz, _ := json.Marshal(v)
	if len(bz) > 60 {
		return string(bz[:57]) + "…"
	}
	return string(bz)
}
