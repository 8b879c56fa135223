package node

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// csvLog is one of the last stage's CSV files (losses.csv: a row per
// microbatch; eval.csv: a row per evaluation round), each row ending with
// the seconds since the worker started and the Unix time.
type csvLog struct {
	mu sync.Mutex
	f  *os.File
	w  *csv.Writer
	t0 time.Time
}

func openCSV(path string, t0 time.Time, header ...string) (*csvLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	l := &csvLog{f: f, w: csv.NewWriter(f), t0: t0}
	_ = l.w.Write(append(header, "elapsed_s", "unix_s"))
	return l, nil
}

func (l *csvLog) add(fields ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Write(append(fields,
		strconv.FormatFloat(time.Since(l.t0).Seconds(), 'f', 3, 64),
		strconv.FormatFloat(float64(time.Now().UnixMilli())/1e3, 'f', 3, 64)))
	l.w.Flush()
}

func (l *csvLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	_ = l.f.Close()
}
