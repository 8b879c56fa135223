package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress is a one-line progress bar on a terminal. It is also the writer
// of the logs: a log line first clears the bar, which is drawn again after.
// Disabled, it only passes writes through.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	total   int
	first   int
	started time.Time
	line    string
}

func newProgress(w io.Writer, total int, on bool) *progress {
	return &progress{w: w, total: total, on: on}
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.line != "" {
		fmt.Fprint(p.w, "\r\033[K")
		defer fmt.Fprint(p.w, p.line)
	}
	return p.w.Write(b)
}

// Start begins the bar at step.
func (p *progress) Start(step int) {
	p.first, p.started = step, time.Now()
	p.Update(step, 0, 0)
}

// Update draws the bar at step.
func (p *progress) Update(step int, loss, tps float64) {
	if !p.on {
		return
	}
	const width = 30
	done := width * step / max(p.total, 1)
	bar := strings.Repeat("=", done) + strings.Repeat(" ", width-done)
	eta := ""
	if n := step - p.first; n > 0 && step < p.total {
		eta = " eta " + (time.Since(p.started) / time.Duration(n) * time.Duration(p.total-step)).Round(time.Second).String()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if step == p.first {
		p.line = fmt.Sprintf("\r[%s] %d/%d", bar, step, p.total)
	} else {
		p.line = fmt.Sprintf("\r[%s] %d/%d loss %.4f %.0f tok/s%s", bar, step, p.total, loss, tps, eta)
	}
	fmt.Fprint(p.w, "\r\033[K"+p.line)
}

// Finish ends the bar's line.
func (p *progress) Finish() {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.line != "" {
		fmt.Fprintln(p.w)
		p.line = ""
	}
}
