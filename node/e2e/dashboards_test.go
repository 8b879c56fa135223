package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dashboardQueries are every query of every panel of deploy/grafana/dashboards/*.json, by
// dashboard and panel title.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "deploy", "grafana", "dashboards", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no dashboards in deploy/grafana/dashboards")
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var d struct {
			Title  string `json:"title"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr  string `json:"expr"`
					RefID string `json:"refId"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(b, &d), f)
		require.NotEmpty(t, d.Panels, f)
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Targets, "%s: panel %q has no query", f, p.Title)
			for _, q := range p.Targets {
				require.NotEmpty(t, q.Expr, "%s: panel %q", f, p.Title)
				out[fmt.Sprintf("%s / %s / %s", d.Title, p.Title, q.RefID)] = q.Expr
			}
		}
	}
	return out
}

// prometheus is a real Prometheus (Debian's package) scraping the given chain nodes' and
// trainers' metrics addresses with the repository's configuration (deploy/prometheus), every
// second; it is stopped when the test ends. Without the binary the check is skipped with a
// note, except on CI, whose .ci/run installs it.
type prometheus struct {
	t   *testing.T
	url string
}

func startPrometheus(t *testing.T, chain, trainers []string) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("prometheus is not installed: .ci/run installs Debian's package (apt-get install prometheus)")
		}
		t.Log("prometheus is not installed (apt-get install prometheus): the dashboards' queries are not checked")
		return nil
	}
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "prometheus.yml"))
	require.NoError(t, err)
	require.Contains(t, string(cfg), "scrape_interval: 5s")
	cfg = []byte(strings.ReplaceAll(string(cfg), "5s", "1s"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "targets"), 0o700))
	for name, targets := range map[string][]string{"chain.json": chain, "trainers.json": trainers} {
		b, err := json.Marshal([]map[string]any{{"targets": targets, "labels": map[string]string{"net": "e2e"}}})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "targets", name), b, 0o600))
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+port)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	p := &prometheus{t: t, url: "http://127.0.0.1:" + port}
	eventually(t, time.Minute, "prometheus is ready", func() bool {
		res, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	eventually(t, time.Minute, "prometheus scrapes every target", func() bool {
		up := p.query(`sum(up)`)
		return len(up) == 1 && up[0] == fmt.Sprint(len(chain)+len(trainers))
	})
	return p
}

// query runs an instant query and returns its samples' values (none: no data).
func (p *prometheus) query(q string) []string {
	p.t.Helper()
	res, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	require.NoError(p.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(p.t, err)
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(p.t, json.Unmarshal(b, &out), string(b))
	require.Equal(p.t, "success", out.Status, "query %q: %s", q, out.Error)
	var vals []string
	for _, r := range out.Data.Result {
		vals = append(vals, fmt.Sprint(r.Value[1]))
	}
	return vals
}

// checkDashboards requires every dashboard panel's every query to return data.
func (p *prometheus) checkDashboards() {
	t := p.t
	t.Helper()
	queries := dashboardQueries(t)
	// Rates need two samples in their window: a few scrapes.
	var empty []string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		empty = empty[:0]
		for name, q := range queries {
			if len(p.query(q)) == 0 {
				empty = append(empty, name+": "+q)
			}
		}
		if len(empty) == 0 || time.Now().After(deadline) {
			break
		}
	}
	require.Empty(t, empty, "dashboard queries without data")
	t.Logf("every one of the dashboards' %d queries returns data", len(queries))
}
