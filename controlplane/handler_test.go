package controlplane_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aponysus/rego/controlplane"
)

func get(t *testing.T, h http.Handler, method, path, inm string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if inm != "" {
		req.Header.Set("If-None-Match", inm)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHandlerDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "payments.json"), doc("p1", 3))
	writeFile(t, filepath.Join(dir, "broken.json"), `{"version":"b1","policies":{"a.b":{"retry":{"jitter":"wobbly"}}}}`)
	if err := os.WriteFile(filepath.Join(dir, ".secret.json"), []byte(doc("s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	h := controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir})

	resp, body := get(t, h, "GET", "/payments", "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || body != doc("p1", 3) || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /payments: %d %q etag %q", resp.StatusCode, body, etag)
	}
	if resp, _ := get(t, h, "GET", "/payments.json", ""); resp.StatusCode != 200 || resp.Header.Get("ETag") != etag {
		t.Fatalf("GET /payments.json: %d", resp.StatusCode)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if resp, body := get(t, h, "GET", "/payments", inm); resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match %s: %d %q", inm, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, h, "GET", "/payments", `"stale"`); resp.StatusCode != 200 {
		t.Fatalf("stale etag: %d", resp.StatusCode)
	}
	if resp, body := get(t, h, "HEAD", "/payments", ""); resp.StatusCode != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, h, "POST", "/payments", ""); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	for _, p := range []string{"/", "/missing", "/.secret", "/../payments", "/a/b", "/%2e%2e%2fpayments"} {
		if resp, _ := get(t, h, "GET", p, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	// An invalid document is never served, and the reason is given.
	resp, body = get(t, h, "GET", "/broken", "")
	if resp.StatusCode != 500 || !strings.Contains(body, `policies["a.b"].retry.jitter`) || resp.Header.Get("ETag") != "" {
		t.Fatalf("GET /broken: %d %q", resp.StatusCode, body)
	}

	// A change is served at once, under a new ETag.
	writeFile(t, filepath.Join(dir, "payments.json"), doc("p2", 4))
	resp, body = get(t, h, "GET", "/payments", etag)
	if resp.StatusCode != 200 || body != doc("p2", 4) || resp.Header.Get("ETag") == etag {
		t.Fatalf("after change: %d %q", resp.StatusCode, body)
	}
}

func TestHandlerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fleet.json")
	writeFile(t, path, doc("f1", 2))
	h := controlplane.NewHandler(controlplane.HandlerOptions{File: path})
	for _, p := range []string{"/", "/anything"} {
		if resp, body := get(t, h, "GET", p, ""); resp.StatusCode != 200 || body != doc("f1", 2) {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
	}
	os.Remove(path)
	if resp, _ := get(t, h, "GET", "/", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing file: %d", resp.StatusCode)
	}
}

func TestHandlerNeedsOneSource(t *testing.T) {
	for _, o := range []controlplane.HandlerOptions{{}, {Dir: "a", File: "b"}} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%+v: no panic", o)
				}
			}()
			controlplane.NewHandler(o)
		}()
	}
}
