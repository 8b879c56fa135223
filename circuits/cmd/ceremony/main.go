// Command ceremony runs the multi-party Groth16 setup of a tile shape, with
// the transcript in a directory passed from participant to participant (see
// circuits/README.md, "Ceremony"):
//
//	ceremony init       --shape forward-256x256x256-T4-tol16 --dir D
//	ceremony contribute --dir D                     (each participant, in turn)
//	ceremony seal       --dir D --beacon <hex>      (after the last phase-1 contribution)
//	ceremony contribute --dir D                     (phase 2, each participant)
//	ceremony finish     --dir D --beacon <hex>      (after the last phase-2 contribution)
//	ceremony verify     --dir D --seal-beacon <hex> --beacon <hex>
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/protolearn/protolearn/circuits/ceremony"
	"github.com/protolearn/protolearn/circuits/tile"
)

const usage = `usage: ceremony <command> [flags]

commands:
  init        --shape NAME --dir D    start a transcript for a tile shape in D
  contribute  --dir D                 add your randomness to the current phase
  seal        --dir D --beacon HEX    verify phase 1, seal it with the beacon, start phase 2
  finish      --dir D --beacon HEX    verify phase 2, seal it, write proving.key and verifying.key
  verify      --dir D --seal-beacon HEX --beacon HEX
                                      re-check the whole transcript and the key files
  shapes                              list the standard shape names

A shape NAME is kind-RxIxO-T<t>-tol<ulp>, e.g. forward-256x256x256-T4-tol16.
Beacons are public values fixed after the last contribution of their phase,
e.g. the hash of a chain block at a height announced in advance.
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("ceremony failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(args) == 0 {
			return errors.New("no command")
		}
		return flag.ErrHelp
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	dir := fs.String("dir", "", "transcript directory")
	shapeName := fs.String("shape", "", "tile shape (init)")
	beaconHex := fs.String("beacon", "", "beacon, hex (seal: phase 1; finish and verify: phase 2)")
	sealHex := fs.String("seal-beacon", "", "phase-1 beacon, hex (verify)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%s: unexpected arguments %q", cmd, fs.Args())
	}
	if cmd == "shapes" {
		for _, s := range tile.StandardShapes() {
			fmt.Println(s)
		}
		return nil
	}
	if *dir == "" {
		return fmt.Errorf("%s: --dir is required", cmd)
	}
	start := time.Now()
	switch cmd {
	case "init":
		s, err := parseShape(*shapeName)
		if err != nil {
			return err
		}
		if err := ceremony.Init(*dir, s); err != nil {
			return err
		}
		log.Info("transcript created", "dir", *dir, "shape", s, "took", time.Since(start))
	case "contribute":
		phase, name, err := ceremony.Contribute(*dir)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		log.Info("contribution written; publish its sha256 and pass the directory on", "phase", phase,
			"file", filepath.Join(*dir, name), "sha256", fmt.Sprintf("%x", sha256.Sum256(b)), "took", time.Since(start))
	case "seal":
		b, err := beacon("beacon", *beaconHex)
		if err != nil {
			return err
		}
		if err := ceremony.SealPhase1(*dir, b); err != nil {
			return err
		}
		log.Info("phase 1 verified and sealed; phase 2 open", "dir", *dir, "took", time.Since(start))
	case "finish":
		b, err := beacon("beacon", *beaconHex)
		if err != nil {
			return err
		}
		if _, err := ceremony.Finish(*dir, b); err != nil {
			return err
		}
		log.Info("phase 2 verified; keys written", "proving", filepath.Join(*dir, ceremony.ProvingKeyFile),
			"verifying", filepath.Join(*dir, ceremony.VerifyingKeyFile), "took", time.Since(start))
	case "verify":
		sb, err := beacon("seal-beacon", *sealHex)
		if err != nil {
			return err
		}
		b, err := beacon("beacon", *beaconHex)
		if err != nil {
			return err
		}
		if _, err := ceremony.Verify(*dir, sb, b); err != nil {
			return err
		}
		log.Info("transcript verifies and matches the key files", "dir", *dir, "took", time.Since(start))
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

func beacon(flagName, h string) ([]byte, error) {
	if h == "" {
		return nil, fmt.Errorf("--%s is required", flagName)
	}
	b, err := hex.DecodeString(strings.TrimPrefix(h, "0x"))
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("--%s is empty", flagName)
	}
	return b, nil
}

// parseShape parses the --shape flag: a name written by tile.Shape.String.
func parseShape(name string) (tile.Shape, error) {
	if name == "" {
		return tile.Shape{}, errors.New("--shape is required (see `ceremony shapes`)")
	}
	s, err := tile.ParseShape(name)
	if err != nil {
		return s, fmt.Errorf("--shape: %w", err)
	}
	return s, nil
}
