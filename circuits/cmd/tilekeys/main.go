// Command tilekeys writes DEV/LOCALNET Groth16 keys for tile shapes with
// tile.TestSetup: a single-party setup whose runner knows the toxic waste, so
// anyone holding it can forge proofs. Production keys come from the ceremony
// (circuits/cmd/ceremony). `make keys` runs it:
//
//	tilekeys -dir build/keys                                  (every standard shape)
//	tilekeys -dir build/keys -shapes forward-256x256x256-T4-tol16
//
// Each shape's keys go to DIR/<shape name>/proving.key (raw) and
// verifying.key (688 bytes), the files and formats the ceremony's finish
// writes and tile.LoadKeys reads. A shape whose files exist and load is
// skipped unless -force.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/protolearn/protolearn/circuits/ceremony"
	"github.com/protolearn/protolearn/circuits/tile"
)

const usage = `usage: tilekeys -dir DIR [-shapes NAME,NAME...] [-force] [-json]

Writes DEV/LOCALNET keys (single-party Groth16 setup: whoever runs it knows the
toxic waste and can forge proofs; never use them on a public network) to
DIR/<shape>/proving.key and DIR/<shape>/verifying.key, the files the ceremony
writes. Production keys come from circuits/cmd/ceremony.

A shape NAME is kind-RxIxO-T<t>-tol<ulp>, e.g. forward-256x256x256-T4-tol16;
the default is every standard shape (ceremony shapes lists them).

flags:
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Stdout, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("tilekeys failed", "err", err)
		os.Exit(1)
	}
}

type options struct {
	dir    string
	shapes []tile.Shape
	force  bool
	json   bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("tilekeys", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	fs.StringVar(&o.dir, "dir", "", "directory of keys, one subdirectory per shape (required)")
	names := fs.String("shapes", "", "comma-separated shape names (default: every standard shape)")
	fs.BoolVar(&o.force, "force", false, "run setup again even if the shape's keys exist and load")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per shape on stdout")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.dir == "" {
		return o, errors.New("-dir is required")
	}
	if *names == "" {
		o.shapes = tile.StandardShapes()
		return o, nil
	}
	for _, n := range strings.Split(*names, ",") {
		s, err := tile.ParseShape(strings.TrimSpace(n))
		if err != nil {
			return o, fmt.Errorf("-shapes: %w", err)
		}
		o.shapes = append(o.shapes, s)
	}
	return o, nil
}

// result is what one shape cost; times in seconds, sizes in bytes.
type result struct {
	Shape       string  `json:"shape"`
	Skipped     bool    `json:"skipped"`
	Constraints int     `json:"constraints"`
	CompileS    float64 `json:"compile_s"`
	SetupS      float64 `json:"setup_s,omitempty"`
	WriteS      float64 `json:"write_s,omitempty"`
	PKBytes     int64   `json:"pk_bytes"`
	VKBytes     int64   `json:"vk_bytes"`
	// PeakRSSKiB is the process's high-water mark so far (getrusage), so
	// with one shape per process it is that shape's setup peak.
	PeakRSSKiB int64 `json:"peak_rss_kib"`
}

func run(log *slog.Logger, stdout io.Writer, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	log.Warn("dev/localnet keys: single-party setup, the toxic waste is known to this machine; never use them on a public network")
	for _, s := range o.shapes {
		r, err := keys(log, o.dir, s, o.force)
		if err != nil {
			return err
		}
		if o.json {
			if err := json.NewEncoder(stdout).Encode(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func keys(log *slog.Logger, dir string, s tile.Shape, force bool) (*result, error) {
	sub := filepath.Join(dir, s.String())
	pkPath, vkPath := filepath.Join(sub, ceremony.ProvingKeyFile), filepath.Join(sub, ceremony.VerifyingKeyFile)
	r := &result{Shape: s.String()}
	start := time.Now()
	ccs, err := tile.Compile(s)
	if err != nil {
		return nil, err
	}
	r.CompileS, r.Constraints = time.Since(start).Seconds(), ccs.GetNbConstraints()
	if !force {
		switch err := loads(s, pkPath, vkPath); {
		case err == nil:
			r.Skipped = true
			r.PKBytes, r.VKBytes = size(pkPath), size(vkPath)
			r.PeakRSSKiB = peakRSSKiB()
			log.Info("keys present and loading, skipped (-force to redo)", "shape", s, "dir", sub)
			return r, nil
		case !errors.Is(err, os.ErrNotExist):
			log.Warn("existing keys do not load; running setup again", "shape", s, "err", err)
		}
	}
	log.Info("setup", "shape", s, "constraints", r.Constraints)
	start = time.Now()
	k, err := tile.TestSetup(s)
	if err != nil {
		return nil, err
	}
	r.SetupS = time.Since(start).Seconds()
	start = time.Now()
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return nil, err
	}
	// The proving key is streamed (it is hundreds of MB for the large
	// shapes); the verifying key is written last, so its presence marks a
	// complete pair.
	_ = os.Remove(vkPath)
	if err := writeFile(pkPath, func(w io.Writer) error { _, err := k.PK.WriteRawTo(w); return err }); err != nil {
		return nil, err
	}
	vk, err := k.MarshalVerifyingKey()
	if err != nil {
		return nil, err
	}
	if err := writeFile(vkPath, func(w io.Writer) error { _, err := w.Write(vk); return err }); err != nil {
		return nil, err
	}
	r.WriteS = time.Since(start).Seconds()
	r.PKBytes, r.VKBytes = size(pkPath), size(vkPath)
	r.PeakRSSKiB = peakRSSKiB()
	log.Info("keys written", "shape", s, "dir", sub, "setup", time.Duration(r.SetupS*float64(time.Second)).Round(time.Millisecond),
		"pk_bytes", r.PKBytes, "peak_rss_mib", r.PeakRSSKiB/1024)
	return r, nil
}

// loads reports whether a shape's key files exist (os.ErrNotExist if not)
// and load with tile.LoadKeys.
func loads(s tile.Shape, pkPath, vkPath string) error {
	vk, err := os.ReadFile(vkPath)
	if err != nil {
		return err
	}
	pk, err := os.ReadFile(pkPath)
	if err != nil {
		return err
	}
	_, err = tile.LoadKeys(s, pk, vk)
	return err
}

// writeFile writes path through a temporary file and a rename, so an
// interrupted run leaves no partial key.
func writeFile(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// peakRSSKiB is the process's peak resident set size (ru_maxrss, KiB on Linux).
func peakRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return int64(ru.Maxrss)
}
