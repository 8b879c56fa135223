package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/protolearn/protolearn/dataset"
)

// DocSep is the byte written after every file in a split (see the package doc).
const DocSep byte = 0x00

// DefaultValFraction is the share of files (by path hash) sent to validation
// when Options.ValFraction is zero.
const DefaultValFraction = 0.05

// Options tune Load. The zero value is the default.
type Options struct {
	// ValFraction is the share of files sent to validation, in (0, 1).
	// Zero means DefaultValFraction.
	ValFraction float64
	// Exts keeps only files whose extension is one of these (".go" or "go";
	// case-sensitive). Empty keeps every text file.
	Exts []string
	// MaxBytes caps the total bytes kept (both splits, separators excluded).
	// Zero or negative means no cap.
	MaxBytes int64
	// KeepTestdata walks directories named testdata too (skipped by default).
	KeepTestdata bool
}

// SkipReason says why Load left an entry out.
type SkipReason string

// The reasons Load skips an entry; Stats.Skipped counts entries per reason (a
// skipped directory counts once, its contents are not visited).
const (
	SkipHidden     SkipReason = "hidden"      // name starts with '.'
	SkipTestdata   SkipReason = "testdata"    // directory named testdata
	SkipNotRegular SkipReason = "not-regular" // symlink, device, socket…
	SkipExtension  SkipReason = "extension"   // not in Options.Exts
	SkipEmpty      SkipReason = "empty"       // zero bytes
	SkipBinary     SkipReason = "binary"      // holds a NUL byte
	SkipInvalidUTF SkipReason = "invalid-utf8"
	SkipUnreadable SkipReason = "unreadable" // permission or I/O error
	SkipMaxBytes   SkipReason = "max-bytes"  // the file that hit Options.MaxBytes
)

// Split names one side of the corpus.
type Split int

const (
	Train Split = iota
	Validation
)

func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Validation:
		return "validation"
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// Stats describe a loaded corpus.
type Stats struct {
	Dir        string
	TrainFiles int
	ValFiles   int
	TrainBytes int64 // bytes of the train split, separators included
	ValBytes   int64 // bytes of the validation split, separators included
	Skipped    map[SkipReason]int
	Capped     bool // Options.MaxBytes stopped the walk early
	// TrainDigest and ValDigest are SHA-256 of each split's bytes: two machines
	// train on the same data exactly when these match.
	TrainDigest [32]byte
	ValDigest   [32]byte
}

// LogValue lets Stats be logged as one slog attribute group.
func (s Stats) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("dir", s.Dir),
		slog.Int("train_files", s.TrainFiles),
		slog.Int64("train_bytes", s.TrainBytes),
		slog.Int("val_files", s.ValFiles),
		slog.Int64("val_bytes", s.ValBytes),
		slog.Bool("capped", s.Capped),
		slog.String("train_sha256", fmt.Sprintf("%x", s.TrainDigest[:8])),
		slog.String("val_sha256", fmt.Sprintf("%x", s.ValDigest[:8])),
	}
	reasons := make([]string, 0, len(s.Skipped))
	for r := range s.Skipped {
		reasons = append(reasons, string(r))
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		attrs = append(attrs, slog.Int("skipped_"+r, s.Skipped[SkipReason(r)]))
	}
	return slog.GroupValue(attrs...)
}

// Corpus is a loaded, split corpus. It is read-only after Load and safe for
// concurrent use; each Sampler is not.
type Corpus struct {
	train []byte
	val   []byte
	stats Stats

	rootOnce sync.Once
	root     [32]byte
}

// Stats returns the corpus statistics (a copy).
func (c *Corpus) Stats() Stats {
	s := c.stats
	s.Skipped = make(map[SkipReason]int, len(c.stats.Skipped))
	for k, v := range c.stats.Skipped {
		s.Skipped[k] = v
	}
	return s
}

// DatasetRoot is the commitment to the train split (dataset.Root): what a model's
// dataset_commitment must be for this corpus to be its data.
func (c *Corpus) DatasetRoot() [32]byte {
	c.rootOnce.Do(func() { c.root = dataset.Root(c.train) })
	return c.root
}

// Bytes returns the bytes of a split (shared, do not modify).
func (c *Corpus) Bytes(s Split) []byte {
	if s == Validation {
		return c.val
	}
	return c.train
}

// IsValidation reports whether the file at rel (relative to the corpus root,
// '/'-separated) belongs to the validation split for valFraction in (0, 1).
func IsValidation(rel string, valFraction float64) bool {
	h := sha256.Sum256([]byte(rel))
	x := binary.BigEndian.Uint64(h[:8])
	// float64(x) rounds, which at worst moves the boundary by 2^-53 of the range.
	return float64(x) < valFraction*math.Exp2(64)
}

// Load reads the text files under dir and splits them (see the package doc).
func Load(dir string, opts Options) (*Corpus, error) {
	if dir == "" {
		return nil, errors.New("data: no corpus directory given: pass -data DIR (a directory of text files)")
	}
	vf := opts.ValFraction
	if vf == 0 {
		vf = DefaultValFraction
	}
	if !(vf > 0 && vf < 1) {
		return nil, fmt.Errorf("data: ValFraction %v out of range: it must be in (0, 1), e.g. 0.05", opts.ValFraction)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: corpus directory %s does not exist: pass -data DIR with an existing directory of text files", dir)
		}
		return nil, fmt.Errorf("data: corpus directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("data: corpus path %s is not a directory: pass -data DIR with a directory of text files", dir)
	}
	exts := map[string]bool{}
	for _, e := range opts.Exts {
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		exts[e] = true
	}

	c := &Corpus{stats: Stats{Dir: dir, Skipped: map[SkipReason]int{}}}
	skip := func(r SkipReason) { c.stats.Skipped[r]++ }
	var total int64
	var train, val bytes.Buffer
	errCapped := errors.New("capped")

	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if path == dir {
			if err != nil {
				return fmt.Errorf("data: reading corpus directory %s: %w (check its permissions)", dir, err)
			}
			return nil
		}
		if err != nil { // unreadable entry or directory below the root
			skip(SkipUnreadable)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") {
			skip(SkipHidden)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if name == "testdata" && !opts.KeepTestdata {
				skip(SkipTestdata)
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			skip(SkipNotRegular)
			return nil
		}
		if len(exts) > 0 && !exts[filepath.Ext(name)] {
			skip(SkipExtension)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			skip(SkipUnreadable)
			return nil
		}
		if len(b) == 0 {
			skip(SkipEmpty)
			return nil
		}
		if bytes.IndexByte(b, 0) >= 0 { // anywhere: keeps DocSep unambiguous
			skip(SkipBinary)
			return nil
		}
		if !utf8.Valid(b) {
			skip(SkipInvalidUTF)
			return nil
		}
		if opts.MaxBytes > 0 && total+int64(len(b)) > opts.MaxBytes {
			skip(SkipMaxBytes)
			c.stats.Capped = true
			return errCapped
		}
		total += int64(len(b))
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = path
		}
		if IsValidation(filepath.ToSlash(rel), vf) {
			val.Write(b)
			val.WriteByte(DocSep)
			c.stats.ValFiles++
		} else {
			train.Write(b)
			train.WriteByte(DocSep)
			c.stats.TrainFiles++
		}
		return nil
	})
	if walkErr != nil && walkErr != errCapped {
		return nil, walkErr
	}
	c.train, c.val = train.Bytes(), val.Bytes()
	c.stats.TrainBytes, c.stats.ValBytes = int64(len(c.train)), int64(len(c.val))
	c.stats.TrainDigest, c.stats.ValDigest = sha256.Sum256(c.train), sha256.Sum256(c.val)

	files := c.stats.TrainFiles + c.stats.ValFiles
	switch {
	case files == 0:
		msg := fmt.Sprintf("data: no text files found in %s (skipped: %s)", dir, skippedString(c.stats.Skipped))
		switch {
		case c.stats.Capped:
			msg += ": the first file is larger than MaxBytes; raise MaxBytes"
		case len(exts) > 0:
			msg += ": check the extension filter or pass -data DIR with text files"
		default:
			msg += ": pass -data DIR with a directory of text files"
		}
		return nil, errors.New(msg)
	case c.stats.ValFiles == 0:
		return nil, fmt.Errorf("data: validation split of %s is empty (%d files, ValFraction %v): raise ValFraction or add files", dir, files, vf)
	case c.stats.TrainFiles == 0:
		return nil, fmt.Errorf("data: train split of %s is empty (%d files, ValFraction %v): lower ValFraction or add files", dir, files, vf)
	}
	return c, nil
}

func skippedString(m map[SkipReason]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[SkipReason(k)], k)
	}
	return strings.Join(parts, ", ")
}

// DefaultDir returns the Go source tree, GOROOT/src, looking in order at the
// GOROOT environment variable, `go env GOROOT`, and the GOROOT this binary was
// built with; the first whose src directory exists wins. On a machine without
// Go (a GPU box given only the trainer binary) it fails, saying to pass -data.
func DefaultDir() (string, error) {
	var tried []string
	try := func(root string) (string, bool) {
		root = strings.TrimSpace(root)
		if root == "" {
			return "", false
		}
		src := filepath.Join(root, "src")
		tried = append(tried, src)
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			return src, true
		}
		return "", false
	}
	if d, ok := try(os.Getenv("GOROOT")); ok {
		return d, nil
	}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if d, ok := try(string(out)); ok {
			return d, nil
		}
	}
	//lint:ignore SA1019 last resort: right when the binary runs where it was built.
	if d, ok := try(runtime.GOROOT()); ok {
		return d, nil
	}
	where := "no GOROOT found and no go command on PATH"
	if len(tried) > 0 {
		where = "tried " + strings.Join(tried, ", ")
	}
	return "", fmt.Errorf("data: cannot find the Go source tree (%s): install Go or pass -data DIR with a directory of text files", where)
}
