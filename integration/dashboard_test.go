package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestDashboardInBrowser loads the dashboard at / in headless Chromium
// against a running `tradeflow run` and checks that its table shows
// counts and that they change as trades are counted; a screenshot is kept
// in TRADEFLOW_ARTIFACTS (default: artifacts/ at the repository's root).
func TestDashboardInBrowser(t *testing.T) {
	if externalBrokers() != "" {
		t.Skip("runs `tradeflow run` on its embedded broker; TRADEFLOW_TEST_BROKERS points elsewhere")
	}
	browser := requireTool(t, "chromium")
	run := liveRun(t)
	page := "http://" + run.HTTP + "/?symbol=ZVV"
	// --virtual-time-budget lets the page's scripts run (fetch the
	// symbols, read the change stream, render) before the DOM is taken.
	chromium := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=4000"}, args...)
		out, err := exec.CommandContext(ctx, browser, append(args, page)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return out
	}
	cell := regexp.MustCompile(`<td class="(completed|pending|flagged|rejected)">(\d+)</td>`)
	total := func() (sum int, live bool) {
		t.Helper()
		dom := chromium("--dump-dom")
		for _, m := range cell.FindAllSubmatch(dom, -1) {
			n, _ := strconv.Atoi(string(m[2]))
			sum += n
		}
		return sum, regexp.MustCompile(`id="status" class="status live">live<`).Match(dom)
	}
	var first int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		n, live := total()
		if n > 0 && live {
			first = n
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard showed no counts (sum %d, live %v) within 60 s", n, live)
		}
	}
	var second int
	for deadline := time.Now().Add(30 * time.Second); second <= first; time.Sleep(time.Second) {
		if second, _ = total(); time.Now().After(deadline) {
			t.Fatalf("the dashboard's counts did not change in 30 s at 200 trades/s: %d, then %d", first, second)
		}
	}
	dir := os.Getenv("TRADEFLOW_ARTIFACTS")
	if dir == "" {
		dir = repoPath("artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot, err := filepath.Abs(filepath.Join(dir, "dashboard.png"))
	if err != nil {
		t.Fatal(err)
	}
	chromium("--window-size=1280,900", "--screenshot="+shot)
	if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("dashboard counts: %d, then %d; screenshot %s", first, second, shot)
}
