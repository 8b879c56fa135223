package data

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// writeTree creates files (relative path → contents) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// textTree returns n text files a/fNNN.go with distinct contents.
func textTree(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("a/f%03d.go", i)] = fmt.Sprintf("package a // file %03d\nfunc F%03d() {}\n", i, i)
	}
	return m
}

func mustLoad(t *testing.T, dir string, opts Options) *Corpus {
	t.Helper()
	c, err := Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error containing %q, got nil", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// splitOf reports which split each file of a textTree-like corpus landed in,
// by finding its contents (unique) in the split bytes.
func splitOf(c *Corpus, files map[string]string) map[string]Split {
	out := map[string]Split{}
	for rel, body := range files {
		if bytes.Contains(c.Bytes(Validation), []byte(body)) {
			out[rel] = Validation
		} else if bytes.Contains(c.Bytes(Train), []byte(body)) {
			out[rel] = Train
		}
	}
	return out
}

func TestSplitDeterministicAndByPath(t *testing.T) {
	files := textTree(200)
	dir := writeTree(t, files)
	c1 := mustLoad(t, dir, Options{ValFraction: 0.2})
	c2 := mustLoad(t, dir, Options{ValFraction: 0.2})
	if !bytes.Equal(c1.Bytes(Train), c2.Bytes(Train)) || !bytes.Equal(c1.Bytes(Validation), c2.Bytes(Validation)) {
		t.Fatal("two loads of the same tree differ")
	}
	s := c1.Stats()
	if s.TrainFiles+s.ValFiles != 200 {
		t.Fatalf("kept %d+%d files, want 200", s.TrainFiles, s.ValFiles)
	}
	if s.ValFiles < 20 || s.ValFiles > 60 {
		t.Errorf("validation has %d of 200 files at ValFraction 0.2", s.ValFiles)
	}
	sides := splitOf(c1, files)
	for rel, side := range sides {
		if want := IsValidation(rel, 0.2); (side == Validation) != want {
			t.Errorf("%s in %v, IsValidation=%v", rel, side, want)
		}
	}
	// Each file is followed by DocSep; split byte counts include it.
	if n := bytes.Count(c1.Bytes(Train), []byte{DocSep}); n != s.TrainFiles {
		t.Errorf("train has %d separators, %d files", n, s.TrainFiles)
	}
	if s.TrainBytes != int64(len(c1.Bytes(Train))) || s.ValBytes != int64(len(c1.Bytes(Validation))) {
		t.Error("Stats bytes disagree with the splits")
	}
	// Same contents on a different root → same split (only the relative path counts).
	dir2 := writeTree(t, files)
	c3 := mustLoad(t, dir2, Options{ValFraction: 0.2})
	if c3.Stats().TrainDigest != s.TrainDigest || c3.Stats().ValDigest != s.ValDigest {
		t.Error("digests depend on the root directory")
	}
}

func TestSplitStableWhenFilesAdded(t *testing.T) {
	files := textTree(100)
	c1 := mustLoad(t, writeTree(t, files), Options{ValFraction: 0.3})
	before := splitOf(c1, files)
	more := textTree(100)
	for i := range 50 {
		more[fmt.Sprintf("b/new%02d.txt", i)] = fmt.Sprintf("new file %d\n", i)
	}
	c2 := mustLoad(t, writeTree(t, more), Options{ValFraction: 0.3})
	after := splitOf(c2, files)
	if !reflect.DeepEqual(before, after) {
		t.Fatal("adding files moved existing files between splits")
	}
	if len(before) != 100 {
		t.Fatalf("found %d of 100 files", len(before))
	}
}

func TestSkips(t *testing.T) {
	files := textTree(60)
	files["bin/nul.dat"] = "text\x00more"
	files["bin/latin1.txt"] = "caf\xe9\n"
	files["empty.txt"] = ""
	files[".git/config"] = "[core]\n"
	files[".hidden.txt"] = "hidden\n"
	files["a/testdata/fixture.go"] = "package fixture\n"
	files["utf8.txt"] = "héllo, 世界\n"
	dir := writeTree(t, files)
	if runtime.GOOS != "windows" {
		if err := os.Symlink(filepath.Join(dir, "utf8.txt"), filepath.Join(dir, "link.txt")); err != nil {
			t.Fatal(err)
		}
	}
	c := mustLoad(t, dir, Options{ValFraction: 0.3})
	s := c.Stats()
	if got := s.TrainFiles + s.ValFiles; got != 61 {
		t.Errorf("kept %d files, want 61 (60 .go + utf8.txt)", got)
	}
	want := map[SkipReason]int{SkipBinary: 1, SkipInvalidUTF: 1, SkipEmpty: 1, SkipHidden: 2, SkipTestdata: 1}
	if runtime.GOOS != "windows" {
		want[SkipNotRegular] = 1
	}
	if !reflect.DeepEqual(s.Skipped, want) {
		t.Errorf("skipped %v, want %v", s.Skipped, want)
	}
	all := append(append([]byte{}, c.Bytes(Train)...), c.Bytes(Validation)...)
	for _, bad := range []string{"text", "caf", "[core]", "hidden", "package fixture"} {
		if bytes.Contains(all, []byte(bad)) {
			t.Errorf("corpus contains skipped content %q", bad)
		}
	}
	// KeepTestdata walks testdata.
	c = mustLoad(t, dir, Options{ValFraction: 0.3, KeepTestdata: true})
	if s := c.Stats(); s.TrainFiles+s.ValFiles != 62 || s.Skipped[SkipTestdata] != 0 {
		t.Errorf("KeepTestdata: kept %d files, skipped %v", s.TrainFiles+s.ValFiles, s.Skipped)
	}
	// Stats is a copy.
	c.Stats().Skipped[SkipBinary] = 99
	if c.Stats().Skipped[SkipBinary] != 1 {
		t.Error("Stats shares its map")
	}
}

func TestLateNulIsBinary(t *testing.T) {
	// A NUL anywhere makes a file binary, so DocSep (0x00) only ever marks the
	// end of a document.
	files := textTree(40)
	files["late.txt"] = strings.Repeat("x", 100<<10) + "\x00"
	c := mustLoad(t, writeTree(t, files), Options{ValFraction: 0.3})
	s := c.Stats()
	if s.TrainFiles+s.ValFiles != 40 || s.Skipped[SkipBinary] != 1 {
		t.Errorf("kept %d files, skipped %v; want 40, 1 binary", s.TrainFiles+s.ValFiles, s.Skipped)
	}
	for _, sp := range []Split{Train, Validation} {
		if n := bytes.Count(c.Bytes(sp), []byte{DocSep}); sp == Train && n != s.TrainFiles || sp == Validation && n != s.ValFiles {
			t.Errorf("%v: %d separators", sp, n)
		}
	}
}

func TestExtFilter(t *testing.T) {
	files := textTree(60)
	files["notes.md"] = "# notes\n"
	files["x.txt"] = "text\n"
	dir := writeTree(t, files)
	for _, exts := range [][]string{{".go"}, {"go"}} {
		c := mustLoad(t, dir, Options{ValFraction: 0.3, Exts: exts})
		s := c.Stats()
		if s.TrainFiles+s.ValFiles != 60 || s.Skipped[SkipExtension] != 2 {
			t.Errorf("Exts %v: kept %d, skipped %v", exts, s.TrainFiles+s.ValFiles, s.Skipped)
		}
	}
	_, err := Load(dir, Options{Exts: []string{".rs"}})
	wantErr(t, err, "no text files found", dir, "extension")
}

func TestMaxBytes(t *testing.T) {
	files := textTree(100)
	dir := writeTree(t, files)
	full := mustLoad(t, dir, Options{ValFraction: 0.3}).Stats()
	fileLen := int64(len(files["a/f000.go"]))
	capBytes := 50 * fileLen // 50 files of equal length fit, the 51st does not
	c := mustLoad(t, dir, Options{ValFraction: 0.3, MaxBytes: capBytes + 3})
	s := c.Stats()
	if !s.Capped || s.TrainFiles+s.ValFiles != 50 || s.Skipped[SkipMaxBytes] != 1 {
		t.Errorf("capped=%v kept=%d skipped=%v, want 50 files", s.Capped, s.TrainFiles+s.ValFiles, s.Skipped)
	}
	if content := s.TrainBytes + s.ValBytes - int64(s.TrainFiles+s.ValFiles); content > capBytes+3 {
		t.Errorf("content %d bytes exceeds cap %d", content, capBytes+3)
	}
	// The first files in sorted order are the ones kept.
	sides := splitOf(c, files)
	for i := range 100 {
		_, kept := sides[fmt.Sprintf("a/f%03d.go", i)]
		if kept != (i < 50) {
			t.Errorf("file %d kept=%v", i, kept)
		}
	}
	if full.Capped {
		t.Error("uncapped load reports Capped")
	}
	_, err := Load(dir, Options{MaxBytes: 5})
	wantErr(t, err, "no text files found", "MaxBytes")
}

func TestLoadErrors(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "nope")
	_, err := Load(missing, Options{})
	wantErr(t, err, missing, "does not exist", "-data")

	file := filepath.Join(root, "f.txt")
	os.WriteFile(file, []byte("hi\n"), 0o644)
	_, err = Load(file, Options{})
	wantErr(t, err, file, "not a directory")

	_, err = Load("", Options{})
	wantErr(t, err, "no corpus directory", "-data")

	empty := t.TempDir()
	_, err = Load(empty, Options{})
	wantErr(t, err, empty, "no text files found", "skipped: none")

	onlyBin := writeTree(t, map[string]string{"a.bin": "\x00\x01", "b": ""})
	_, err = Load(onlyBin, Options{})
	wantErr(t, err, "no text files found", "1 binary", "1 empty")

	// One file: it lands on exactly one side; the other is empty.
	one := writeTree(t, map[string]string{"only.txt": "hello\n"})
	_, err = Load(one, Options{ValFraction: 0.5})
	if IsValidation("only.txt", 0.5) {
		wantErr(t, err, "train split", "empty", "lower ValFraction")
	} else {
		wantErr(t, err, "validation split", "empty", "raise ValFraction")
	}

	for _, vf := range []float64{-0.1, 1, 1.5} {
		_, err = Load(one, Options{ValFraction: vf})
		wantErr(t, err, "ValFraction", "(0, 1)")
	}
}

func TestUnreadable(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("permissions are not enforced here")
	}
	files := textTree(60)
	files["locked/secret.txt"] = "secret\n"
	files["nope.txt"] = "nope\n"
	dir := writeTree(t, files)
	os.Chmod(filepath.Join(dir, "nope.txt"), 0)
	os.Chmod(filepath.Join(dir, "locked"), 0)
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "locked"), 0o755) })
	c := mustLoad(t, dir, Options{ValFraction: 0.3})
	if s := c.Stats(); s.TrainFiles+s.ValFiles != 60 || s.Skipped[SkipUnreadable] != 2 {
		t.Errorf("kept %d, skipped %v; want 60 kept, 2 unreadable", s.TrainFiles+s.ValFiles, s.Skipped)
	}
	// An unreadable root is an error, not a panic.
	os.Chmod(dir, 0)
	defer os.Chmod(dir, 0o755)
	_, err := Load(dir, Options{})
	wantErr(t, err, dir)
}

func TestStatsLogValue(t *testing.T) {
	c := mustLoad(t, writeTree(t, textTree(40)), Options{ValFraction: 0.3})
	v := c.Stats().LogValue().String()
	for _, s := range []string{"train_files", "val_bytes", "train_sha256"} {
		if !strings.Contains(v, s) {
			t.Errorf("LogValue %q lacks %s", v, s)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	d, err := DefaultDir()
	if err != nil {
		wantErr(t, err, "-data")
		t.Skipf("no Go source tree: %v", err)
	}
	if filepath.Base(d) != "src" {
		t.Errorf("DefaultDir = %s", d)
	}
	t.Setenv("GOROOT", filepath.Join(t.TempDir(), "nogo"))
	t.Setenv("PATH", "")
	if d2, err := DefaultDir(); err == nil {
		// runtime.GOROOT() still finds the build-time tree on this machine.
		if d2 != d {
			t.Logf("fallback found %s (first %s)", d2, d)
		}
	} else {
		wantErr(t, err, "-data", "nogo")
	}
}

func TestGoRootCorpus(t *testing.T) {
	d, err := DefaultDir()
	if err != nil {
		t.Skipf("no Go source tree: %v", err)
	}
	const cap = 4 << 20
	c, err := Load(d, Options{MaxBytes: cap})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	t.Logf("GOROOT/src capped at 4 MiB: %d+%d files, %d+%d bytes, skipped %v", s.TrainFiles, s.ValFiles, s.TrainBytes, s.ValBytes, s.Skipped)
	if !s.Capped || s.TrainBytes+s.ValBytes < cap/2 || s.ValFiles == 0 {
		t.Errorf("unexpected stats %+v", s)
	}
	sm, err := c.Sampler(Train, 256, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	sm.Next()
	if _, err := c.EvalBatches(256, 4, 2); err != nil {
		t.Fatal(err)
	}
}
