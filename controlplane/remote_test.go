package controlplane_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// plane is a control plane on loopback whose behaviour a test switches:
// it serves a document file through controlplane.NewHandler, or fails in
// the way the test asks.
type plane struct {
	t    *testing.T
	srv  *httptest.Server
	path string

	mu       sync.Mutex
	mode     string // "ok", "down" (503), "garbage", "big", "block"
	release  chan struct{}
	entered  chan struct{}
	requests int
	inm      []string // If-None-Match of each request
	auth     []string // X-Rego-Token of each request
	statuses []int
}

func newPlane(t *testing.T, tls bool) *plane {
	pl := &plane{t: t, mode: "ok", path: filepath.Join(t.TempDir(), "policies.json")}
	writeFile(t, pl.path, doc("v1", 4))
	h := controlplane.NewHandler(controlplane.HandlerOptions{File: pl.path})
	fn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pl.mu.Lock()
		pl.requests++
		pl.inm = append(pl.inm, r.Header.Get("If-None-Match"))
		pl.auth = append(pl.auth, r.Header.Get("X-Rego-Token"))
		mode, release, entered := pl.mode, pl.release, pl.entered
		pl.mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		switch mode {
		case "ok":
			h.ServeHTTP(rec, r)
		case "down":
			http.Error(rec, "maintenance", http.StatusServiceUnavailable)
		case "garbage":
			fmt.Fprint(rec, "<html>Gateway says hello</html>")
		case "big":
			// No Content-Length: the client must stop reading by itself.
			rec.Header().Set("Content-Type", "application/json")
			for i := 0; i < 64; i++ {
				fmt.Fprint(rec, strings.Repeat(" ", 1024))
				rec.Flush()
			}
		case "block":
			entered <- struct{}{}
			<-release
			h.ServeHTTP(rec, r)
		}
		pl.mu.Lock()
		pl.statuses = append(pl.statuses, rec.code)
		pl.mu.Unlock()
	})
	if tls {
		pl.srv = httptest.NewTLSServer(fn)
	} else {
		pl.srv = httptest.NewServer(fn)
	}
	t.Cleanup(pl.srv.Close)
	return pl
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusRecorder) Flush()               { s.ResponseWriter.(http.Flusher).Flush() }

func (pl *plane) set(mode string) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.mode = mode
	if mode == "block" {
		pl.release = make(chan struct{})
		pl.entered = make(chan struct{}, 100)
	}
}

func (pl *plane) count() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.requests
}

func (pl *plane) last() (inm string, status int) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.inm[len(pl.inm)-1], pl.statuses[len(pl.statuses)-1]
}

func newRemote(t *testing.T, opts controlplane.RemoteOptions) *controlplane.RemoteProvider {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = -1 // tests refresh by hand unless they test the loop
	}
	rp, err := controlplane.NewRemoteProvider(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return rp
}

func refresh(t *testing.T, rp *controlplane.RemoteProvider) {
	t.Helper()
	if err := rp.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func TestRemoteServerDownAtStart(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	rp := newRemote(t, controlplane.RemoteOptions{URL: url})

	p, err := rp.GetEffectivePolicy(context.Background(), charge)
	var ue *controlplane.UnavailableError
	if !p.IsZero() || !errors.As(err, &ue) || !errors.Is(err, controlplane.ErrProviderUnavailable) {
		t.Fatalf("lookup with the server down at start = %+v, %v", p, err)
	}
	if ue.Source != url || rp.Version() != "" || rp.LastError() == nil {
		t.Fatalf("error %+v version %q", ue, rp.Version())
	}
}

func TestRemoteLastKnownGood(t *testing.T) {
	pl := newPlane(t, false)
	var logged atomic.Int32
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, OnError: func(error) { logged.Add(1) }})
	refresh(t, rp)
	expect(t, rp, "v1", 4, policy.SourceRemote, false)

	for _, mode := range []string{"down", "garbage", "big"} {
		pl.set(mode)
		err := rp.Refresh(context.Background())
		if err == nil {
			t.Fatalf("%s: Refresh succeeded", mode)
		}
		lerr := expect(t, rp, "v1", 4, policy.SourceLKG, true)
		var se *controlplane.StaleError
		if !errors.As(lerr, &se) || se.Version != "v1" || !errors.Is(lerr, controlplane.ErrProviderUnavailable) {
			t.Fatalf("%s: lookup error %v", mode, lerr)
		}
		switch mode {
		case "down":
			var st *controlplane.StatusError
			if !errors.As(lerr, &st) || st.Code != 503 {
				t.Fatalf("down: %v", lerr)
			}
		case "garbage":
			if !errors.Is(lerr, policy.ErrInvalidDocument) {
				t.Fatalf("garbage: %v", lerr)
			}
		}
	}
	if logged.Load() != 3 {
		t.Fatalf("OnError called %d times, want 3", logged.Load())
	}

	// The server comes back with the same document: a 304 ends the
	// fallback.
	pl.set("ok")
	refresh(t, rp)
	if _, st := pl.last(); st != http.StatusNotModified {
		t.Fatalf("status %d, want 304", st)
	}
	expect(t, rp, "v1", 4, policy.SourceRemote, false)

	// The server goes away entirely: the document still holds.
	pl.srv.Close()
	if err := rp.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh against a closed server succeeded")
	}
	expect(t, rp, "v1", 4, policy.SourceLKG, true)
}

func TestRemoteTooLargeWithContentLength(t *testing.T) {
	pl := newPlane(t, false)
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, MaxBytes: 32})
	err := rp.Refresh(context.Background())
	var tl *controlplane.TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 32 {
		t.Fatalf("Refresh: %v", err)
	}
	if p, err := rp.GetEffectivePolicy(context.Background(), charge); !p.IsZero() || !errors.As(err, &tl) {
		t.Fatalf("lookup: %+v %v", p, err)
	}
}

func TestRemoteETagRoundTrip(t *testing.T) {
	pl := newPlane(t, false)
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL})
	refresh(t, rp)
	inm, st := pl.last()
	if inm != "" || st != 200 {
		t.Fatalf("first fetch: If-None-Match %q status %d", inm, st)
	}
	resp, err := http.Get(pl.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")

	refresh(t, rp)
	inm, st = pl.last()
	if inm != etag || st != http.StatusNotModified {
		t.Fatalf("second fetch: If-None-Match %q (want %q) status %d", inm, etag, st)
	}
	expect(t, rp, "v1", 4, policy.SourceRemote, false)

	writeFile(t, pl.path, doc("v2", 9))
	refresh(t, rp)
	if inm, st = pl.last(); inm != etag || st != 200 {
		t.Fatalf("after change: If-None-Match %q status %d", inm, st)
	}
	expect(t, rp, "v2", 9, policy.SourceRemote, false)
	refresh(t, rp)
	if inm, st = pl.last(); inm == etag || inm == "" || st != http.StatusNotModified {
		t.Fatalf("new etag not used: If-None-Match %q status %d", inm, st)
	}
}

func TestRemoteAuthHeader(t *testing.T) {
	pl := newPlane(t, false)
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, AuthHeader: "X-Rego-Token", AuthValue: "s3cret"})
	refresh(t, rp)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.auth[0] != "s3cret" {
		t.Fatalf("auth header %q", pl.auth[0])
	}
}

func TestRemoteTLS(t *testing.T) {
	pl := newPlane(t, true)
	pool := x509.NewCertPool()
	pool.AddCert(pl.srv.Certificate())
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, TLSConfig: &tls.Config{RootCAs: pool}})
	refresh(t, rp)
	expect(t, rp, "v1", 4, policy.SourceRemote, false)

	// Without the test CA the server is not trusted.
	untrusting := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL})
	if err := untrusting.Refresh(context.Background()); err == nil {
		t.Fatal("fetch from an untrusted server succeeded")
	}
}

func TestRemoteSlowServerDoesNotBlockCallers(t *testing.T) {
	pl := newPlane(t, false)
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL})
	refresh(t, rp)

	pl.set("block")
	writeFile(t, pl.path, doc("v2", 6))
	done := make(chan error, 1)
	go func() { done <- rp.Refresh(context.Background()) }()
	<-pl.entered // the refresh is stuck in the server
	for i := 0; i < 100; i++ {
		expect(t, rp, "v1", 4, policy.SourceRemote, false)
	}
	close(pl.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	expect(t, rp, "v2", 6, policy.SourceRemote, false)
}

func TestRemoteMissesShareOneFetch(t *testing.T) {
	pl := newPlane(t, false)
	pl.set("block")
	// The lookups wait for the stalled first fetch as long as it takes.
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, ColdStartWait: time.Hour})

	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := rp.GetEffectivePolicy(context.Background(), charge)
			if err != nil || p.Meta.Version != "v1" {
				errs <- fmt.Errorf("lookup = %q, %v", p.Meta.Version, err)
			}
		}()
	}
	<-pl.entered
	close(pl.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := pl.count(); n != 1 {
		t.Fatalf("%d requests for %d concurrent misses, want 1", n, callers)
	}
}

func TestRemoteMissWaitsOnlyWithinContext(t *testing.T) {
	pl := newPlane(t, false)
	pl.set("block")
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-pl.entered
		cancel()
	}()
	p, err := rp.GetEffectivePolicy(ctx, charge)
	if !p.IsZero() || !errors.Is(err, controlplane.ErrProviderUnavailable) {
		t.Fatalf("lookup = %+v, %v", p, err)
	}
	close(pl.release) // let the fetch finish so Close does not wait on it
}

func TestRemoteMissInterval(t *testing.T) {
	pl := newPlane(t, false)
	pl.set("down")
	clk := regotest.NewClock(time.Time{})
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, Clock: clk, MissInterval: time.Second})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := rp.GetEffectivePolicy(ctx, charge); !errors.Is(err, controlplane.ErrProviderUnavailable) {
			t.Fatal(err)
		}
	}
	if n := pl.count(); n != 1 {
		t.Fatalf("%d requests, want 1 within the miss interval", n)
	}
	clk.Advance(time.Second)
	pl.set("ok")
	expect(t, rp, "v1", 4, policy.SourceRemote, false)
	if n := pl.count(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestRemoteBackgroundRefresh(t *testing.T) {
	pl := newPlane(t, false)
	clk := regotest.NewClock(time.Time{})
	rp := newRemote(t, controlplane.RemoteOptions{
		URL: pl.srv.URL, Clock: clk, Interval: 30 * time.Second, Jitter: 0.5,
		Rand: func() float64 { return 1 }, // the longest wait: 45s
	})
	clk.BlockUntil(1) // the first fetch is done and the loop waits
	expect(t, rp, "v1", 4, policy.SourceRemote, false)

	writeFile(t, pl.path, doc("v2", 5))
	clk.Advance(44 * time.Second)
	expect(t, rp, "v1", 4, policy.SourceRemote, false)
	clk.Advance(time.Second)
	clk.BlockUntil(1)
	expect(t, rp, "v2", 5, policy.SourceRemote, false)

	pl.set("down")
	clk.Advance(45 * time.Second)
	clk.BlockUntil(1)
	expect(t, rp, "v2", 5, policy.SourceLKG, true)
	if n := pl.count(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	rp.Close()
	if clk.Pending() != 0 {
		t.Fatal("timer left after Close")
	}
	if err := rp.Refresh(context.Background()); !errors.Is(err, controlplane.ErrClosed) {
		t.Fatalf("Refresh after Close: %v", err)
	}
	expect(t, rp, "v2", 5, policy.SourceLKG, true) // lookups still work
}

func TestRemoteCloseCancelsFetch(t *testing.T) {
	pl := newPlane(t, false)
	pl.set("block")
	rp, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{URL: pl.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	<-pl.entered // the loop's first fetch is stuck in the server
	rp.Close()   // must not wait for the server
	rp.Close()
	close(pl.release)
}

func TestRemoteConcurrentLookupsDuringRefresh(t *testing.T) {
	pl := newPlane(t, false)
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL})
	refresh(t, rp)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Value
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1_000_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%32 == 0 {
					runtime.Gosched() // let the refreshes through on a small machine
				}
				p, err := rp.GetEffectivePolicy(context.Background(), charge)
				// Each version vN carries N+3 attempts: a torn read shows.
				var n int
				if _, serr := fmt.Sscanf(p.Meta.Version, "v%d", &n); err != nil || serr != nil || p.Retry.MaxAttempts != min(n+3, 10) {
					bad.Store(fmt.Sprintf("lookup %+v, %v", p, err))
				}
			}
		}()
	}
	writeFile(t, pl.path, doc("v1", 4))
	for v := 2; v <= 20; v++ {
		writeFile(t, pl.path, doc(fmt.Sprintf("v%d", v), v+3))
		refresh(t, rp)
	}
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
	if rp.Version() != "v20" {
		t.Fatal(rp.Version())
	}
}

func TestRemoteCacheFile(t *testing.T) {
	pl := newPlane(t, false)
	cache := filepath.Join(t.TempDir(), "policies.cache")
	first := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, CacheFile: cache})
	refresh(t, first)
	first.Close()
	if _, err := os.Stat(cache); err != nil {
		t.Fatal(err)
	}

	// A restart during an outage starts with the cached policies, marked
	// as last-known-good.
	pl.set("down")
	second := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, CacheFile: cache})
	err := expect(t, second, "v1", 4, policy.SourceLKG, true)
	if !errors.Is(err, controlplane.ErrProviderUnavailable) {
		t.Fatal(err)
	}
	if pl.count() != 1 {
		t.Fatal("a lookup with a cached document went to the network")
	}
	if second.Refresh(context.Background()) == nil {
		t.Fatal("Refresh against a down server succeeded")
	}
	expect(t, second, "v1", 4, policy.SourceLKG, true)

	// The server returns with the same document: the cached ETag earns a
	// 304 and the cached policies become fresh.
	pl.set("ok")
	refresh(t, second)
	if inm, st := pl.last(); inm == "" || st != http.StatusNotModified {
		t.Fatalf("If-None-Match %q status %d", inm, st)
	}
	expect(t, second, "v1", 4, policy.SourceRemote, false)

	// A cache written for another URL is ignored.
	other := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL + "/other", CacheFile: cache})
	if other.Version() != "" {
		t.Fatal("cache of another URL was used")
	}
	// So is a torn or foreign file.
	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	third := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, CacheFile: cache})
	if third.Version() != "" {
		t.Fatal("a broken cache was used")
	}
}

func TestRemoteOptionsValidated(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "http://", "::"} {
		if _, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{URL: u}); err == nil || !strings.HasPrefix(err.Error(), "controlplane: ") {
			t.Errorf("URL %q: err = %v", u, err)
		}
	}
}
