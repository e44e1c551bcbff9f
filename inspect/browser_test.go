package inspect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of Debian's chromium. Without it the test is
// skipped loudly on a developer's machine and fails in CI (CI set), where
// .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("SKIPPED: chromium is not installed; the /debug/rego browser test did not run (apt-get install -y --no-install-recommends chromium)")
	return ""
}

// runChromium runs headless chromium with args and returns its stdout.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestPageInHeadlessChromium loads /debug/rego, served by a real HTTP
// server on loopback in front of a running executor, in a real browser:
// the DOM it builds must show each key's state, and a screenshot is kept
// for people to look at.
func TestPageInHeadlessChromium(t *testing.T) {
	if testing.Short() {
		// The release dry run tests the module again, from the module
		// cache, with -short; the full suite has run this test already.
		t.Skip("SKIPPED in -short mode: the /debug/rego browser test")
	}
	bin := chromium(t)
	f := newFixture(t)
	mux := http.NewServeMux()
	mux.Handle("/debug/rego", f.insp)
	srv := httptest.NewServer(mux) // 127.0.0.1
	defer srv.Close()
	url := srv.URL + "/debug/rego"

	dom := runChromium(t, bin, "--dump-dom", url)
	for _, want := range []string{
		"<title>rego: live state</title>",
		`id="key-payments.Charge"`, "charge-v1", "static",
		`<span class="breaker state-open">open</span>`,
		"tokens_exhausted", "0 tokens",
		"budget_denied: 1", "circuit_open: 2",
		"refused by breaker: open",
		"p50 ", "over 2 attempts",
		`"max_attempts":5`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the browser's DOM lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	dir := filepath.Join(os.TempDir(), "rego-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "debug-rego.png")
	_ = os.Remove(shot)
	runChromium(t, bin, "--window-size=1280,2000", "--hide-scrollbars", "--screenshot="+shot, url)
	fi, err := os.Stat(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	png := make([]byte, 8)
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.Read(png); err != nil || string(png[1:4]) != "PNG" || fi.Size() < 10000 {
		t.Fatalf("screenshot %s is not a real PNG (%d bytes)", shot, fi.Size())
	}
	t.Logf("screenshot of /debug/rego: %s (%d bytes)", shot, fi.Size())
}
