package stageprog

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// ulps is how many representable float64 lie between a and b.
func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(math.Nextafter(b, math.Inf(1))-b), math.SmallestNonzeroFloat64)
}

// The deterministic functions agree with Go's math package to a few ulp over the ranges the
// reference program uses, and at their edges.
func TestDetMathAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200_000 {
		x := (rng.Float64()*2 - 1) * 700
		if u := ulps(Exp(x), math.Exp(x)); u > 4 {
			t.Fatalf("Exp(%v) = %v, math %v: %v ulp", x, Exp(x), math.Exp(x), u)
		}
		y := math.Exp((rng.Float64()*2 - 1) * 700)
		if d := math.Abs(Log(y) - math.Log(y)); d > 4e-16*math.Max(1, math.Abs(math.Log(y))) {
			t.Fatalf("Log(%v) = %v, math %v", y, Log(y), math.Log(y))
		}
		z := (rng.Float64()*2 - 1) * 20
		if d := math.Abs(Sigmoid(z) - 1/(1+math.Exp(-z))); d > 1e-15 {
			t.Fatalf("Sigmoid(%v) = %v", z, Sigmoid(z))
		}
		a := rng.Float64() * 4096
		s, c := SinCos(a)
		if math.Abs(s-math.Sin(a)) > 1e-13 || math.Abs(c-math.Cos(a)) > 1e-13 {
			t.Fatalf("SinCos(%v) = %v, %v; math %v, %v", a, s, c, math.Sin(a), math.Cos(a))
		}
	}
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{Exp(0), 1, "Exp(0)"},
		{Exp(1000), math.Inf(1), "Exp(1000)"},
		{Exp(-1000), 0, "Exp(-1000)"},
		{Log(1), 0, "Log(1)"},
		{Log(0), math.Inf(-1), "Log(0)"},
		{Sigmoid(0), 0.5, "Sigmoid(0)"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if !math.IsNaN(Log(-1)) || !math.IsNaN(Exp(math.NaN())) {
		t.Error("NaN in, or the log of a negative number, must give NaN")
	}
}

// Fixed vectors: these bits are what every platform must compute (a port that differs, or a
// compiler that fuses a product into an addition, fails here before it fails a dispute; an
// arm64 build of the package holds no fused multiply-add: GOARCH=arm64 go build -gcflags=-S
// ./stageprog | grep FMADD finds none).
func TestDetMathBits(t *testing.T) {
	for _, c := range []struct {
		name string
		got  float64
		want uint64
	}{
		{"Exp(0.3)", Exp(0.3), 0x3ff599058c8c1a96},
		{"Exp(-12.5)", Exp(-12.5), 0x3ecf42ed3f68e690},
		{"Log(3.7)", Log(3.7), 0x3ff4eeee650ae550},
		{"Sigmoid(-2.25)", Sigmoid(-2.25), 0x3fb868d2916eca5b},
		{"Sin(123.456)", first(SinCos(123.456)), 0xbfe9b9dadc41aeb4},
		{"Cos(0.7)", second(SinCos(0.7)), 0x3fe87996529f9d92},
	} {
		if got := math.Float64bits(c.got); got != c.want {
			t.Errorf("%s = %#016x, want %#016x", c.name, got, c.want)
		}
	}
}

func first(a, _ float64) float64  { return a }
func second(_, b float64) float64 { return b }

// No fused multiply-add on arm64: Go may fuse x*y + z into one rounding there, and a dispute
// compares bits across validators of every platform (an attacker review found one in EndRatio).
// It builds the package for arm64 and reads the assembly.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package for arm64")
	}
	cmd := exec.Command("go", "build", "-gcflags=-S", ".")
	cmd.Env = append(os.Environ(), "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build for arm64: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		for _, op := range []string{"FMADD", "FMSUB", "FNMADD", "FNMSUB"} {
			if strings.Contains(line, "\t"+op) {
				t.Errorf("a fused multiply-add on arm64: %s", strings.TrimSpace(line))
			}
		}
	}
}
