package infer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling is how the last stage picks the next token from its logits.
type Sampling struct {
	// Temperature divides the logits; 0 picks the most likely token (greedy).
	Temperature float64
	// TopP keeps the most likely tokens whose probabilities add up to at least TopP (nucleus
	// sampling); 1 keeps them all.
	TopP float64
	// Seed makes the draws reproducible: the draw after n positions uses the generator
	// PCG(Seed, n), so the same prompt and seed give the same tokens on any replica, also
	// after a session moved to another one.
	Seed uint64
}

// MaxTemperature bounds Temperature.
const MaxTemperature = 2

// Validate reports parameters no sampler takes, naming what to change.
func (s Sampling) Validate() error {
	if math.IsNaN(s.Temperature) || s.Temperature < 0 || s.Temperature > MaxTemperature {
		return fmt.Errorf("temperature %v: must be in [0, %d]", s.Temperature, MaxTemperature)
	}
	if math.IsNaN(s.TopP) || s.TopP <= 0 || s.TopP > 1 {
		return fmt.Errorf("top_p %v: must be in (0, 1]", s.TopP)
	}
	return nil
}

// Sample picks the token after n positions from logits.
func Sample(logits []float32, s Sampling, n int) int32 {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	if s.Temperature == 0 {
		return int32(best)
	}
	p := make([]float64, len(logits))
	sum := 0.0
	for i, l := range logits {
		p[i] = math.Exp((float64(l) - float64(logits[best])) / s.Temperature)
		sum += p[i]
	}
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	keep, mass := 0, 0.0
	for keep < len(order) && (keep == 0 || mass < s.TopP*sum) {
		mass += p[order[keep]]
		keep++
	}
	u := rand.New(rand.NewPCG(s.Seed, uint64(n))).Float64() * mass
	for _, i := range order[:keep] {
		if u < p[i] {
			return int32(i)
		}
		u -= p[i]
	}
	return int32(order[keep-1])
}
