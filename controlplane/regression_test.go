package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// events records lifecycle events.
type events struct {
	mu  sync.Mutex
	evs []observe.Event
}

func (e *events) OnEvent(_ context.Context, ev observe.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

// list returns "kind/version" of each event so far.
func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.evs))
	for i, ev := range e.evs {
		out[i] = string(ev.Kind) + "/" + ev.Version
	}
	return out
}

func (e *events) last() observe.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.evs[len(e.evs)-1]
}

// Closing a provider while a fetch is in flight leaves it as healthy as
// it was: no failure recorded, lookups keep their source, OnError silent.
func TestRemoteCloseIsNotAFailure(t *testing.T) {
	pl := newPlane(t, false)
	var logged atomic.Int32
	var evs events
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, OnError: func(error) { logged.Add(1) }, Observer: &evs})
	refresh(t, rp)

	pl.set("block")
	done := make(chan error, 1)
	go func() { done <- rp.Refresh(context.Background()) }()
	<-pl.entered // the refresh is stuck in the server
	rp.Close()   // cancels it
	if err := <-done; !errors.Is(err, controlplane.ErrClosed) {
		t.Fatalf("cancelled Refresh = %v, want ErrClosed", err)
	}
	close(pl.release)

	if err := rp.LastError(); err != nil {
		t.Fatalf("LastError after Close = %v", err)
	}
	expect(t, rp, "v1", 4, policy.SourceRemote, false)
	if n := logged.Load(); n != 0 {
		t.Fatalf("OnError called %d times by Close", n)
	}
	if got := strings.Join(evs.list(), " "); got != "policy_reload/v1" {
		t.Fatalf("events %s", got)
	}
}

// The same with the background loop's fetch, the one a real shutdown
// cancels.
func TestRemoteCloseDuringBackgroundFetch(t *testing.T) {
	pl := newPlane(t, false)
	cache := filepath.Join(t.TempDir(), "cache")
	seed := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, CacheFile: cache})
	refresh(t, seed)
	seed.Close()

	pl.set("block")
	var logged atomic.Int32
	rp, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{
		URL: pl.srv.URL, CacheFile: cache, OnError: func(error) { logged.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	<-pl.entered // the loop's first fetch is stuck in the server
	before := rp.LastError()
	rp.Close()
	close(pl.release)
	if rp.LastError() != before || logged.Load() != 0 {
		t.Fatalf("Close changed the provider's health: %v, OnError %d", rp.LastError(), logged.Load())
	}
	expect(t, rp, "v1", 4, policy.SourceLKG, true) // still the unconfirmed cache, as before
}

// A cache file that exists but cannot be used is reported, not dropped.
func TestRemoteBrokenCacheIsReported(t *testing.T) {
	pl := newPlane(t, false)
	pl.set("down")
	for name, content := range map[string]string{
		"torn":    `{"url":"` + pl.srv.URL + `","body":"eyJ2`,
		"foreign": `{"url":"http://elsewhere/p","body":"e30="}`,
		"invalid": `{"url":"` + pl.srv.URL + `","body":"` + "eyJ2ZXJzaW9uIjo1fQ==" + `"}`, // {"version":5}
	} {
		t.Run(name, func(t *testing.T) {
			cache := filepath.Join(t.TempDir(), "cache")
			if err := os.WriteFile(cache, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var reported []error
			var evs events
			rp := newRemote(t, controlplane.RemoteOptions{
				URL: pl.srv.URL, CacheFile: cache, ColdStartWait: -1,
				OnError: func(err error) { reported = append(reported, err) }, Observer: &evs,
			})
			lerr := rp.LastError()
			if lerr == nil || !strings.Contains(lerr.Error(), cache) {
				t.Fatalf("LastError = %v, want the cache file named", lerr)
			}
			if len(reported) != 1 || reported[0] != lerr {
				t.Fatalf("OnError got %v", reported)
			}
			if ev := evs.last(); ev.Kind != observe.EventPolicyReloadFailed || ev.Err != lerr {
				t.Fatalf("event %+v", ev)
			}
			if name == "invalid" && !errors.Is(lerr, policy.ErrInvalidDocument) {
				t.Fatalf("invalid cache: %v", lerr)
			}
			if rp.Version() != "" {
				t.Fatal("a broken cache was used")
			}
			// The server's first good answer clears it.
			pl.set("ok")
			defer pl.set("down")
			refresh(t, rp)
			if rp.LastError() != nil {
				t.Fatal(rp.LastError())
			}
		})
	}
}

// A missing cache file is a first start, not a failure.
func TestRemoteMissingCacheIsQuiet(t *testing.T) {
	pl := newPlane(t, false)
	var logged atomic.Int32
	rp := newRemote(t, controlplane.RemoteOptions{
		URL: pl.srv.URL, CacheFile: filepath.Join(t.TempDir(), "cache"), OnError: func(error) { logged.Add(1) },
	})
	refresh(t, rp)
	if logged.Load() != 0 || rp.LastError() != nil {
		t.Fatalf("OnError %d, LastError %v", logged.Load(), rp.LastError())
	}
}

// countingErr counts the calls of its Error method.
type countingErr struct{ calls *atomic.Int64 }

func (e countingErr) Error() string { e.calls.Add(1); return "policy: invalid document: many problems" }

// An error that comes with every lookup is formatted once, when the
// provider records it, however often callers ask for its message.
func TestProviderErrorMessageBuiltOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policies.json")
	writeFile(t, path, doc("v1", 4))
	var calls atomic.Int64
	decode := func(b []byte) (*policy.Document, error) {
		if strings.Contains(string(b), "broken") {
			return nil, countingErr{&calls}
		}
		return policy.DecodeDocument(b)
	}
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1, Decode: decode})
	defer fp.Close()
	writeFile(t, path, `{"version":"broken"}`)
	if fp.Reload() == nil {
		t.Fatal("broken document loaded")
	}
	built := calls.Load()
	for i := 0; i < 1000; i++ {
		_, err := fp.GetEffectivePolicy(context.Background(), charge)
		if !strings.Contains(err.Error(), "many problems") {
			t.Fatal(err)
		}
	}
	if n := calls.Load() - built; n != 0 {
		t.Fatalf("1000 lookups formatted the cause %d times", n)
	}
}

// manyProblems is a document with n invalid policies.
func manyProblems(n int) string {
	var b strings.Builder
	b.WriteString(`{"version":"bad","policies":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"svc.M%d":{"retry":{"jitter":"wobbly"}}`, i)
	}
	b.WriteString("}}")
	return b.String()
}

// What a call that records its policy error pays after a document with
// 1,000 problems was rejected.
func BenchmarkStaleErrorMessage(b *testing.B) {
	path := filepath.Join(b.TempDir(), "policies.json")
	writeFile(b, path, doc("v1", 4))
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	defer fp.Close()
	writeFile(b, path, manyProblems(1000))
	var de *policy.DocumentError
	if err := fp.Reload(); !errors.As(err, &de) || len(de.Problems) != 1000 {
		b.Fatalf("reload: %v", err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := fp.GetEffectivePolicy(ctx, charge)
		if len(err.Error()) == 0 {
			b.Fatal("no message")
		}
	}
}

// Before the first document, a lookup waits at most ColdStartWait for a
// stalled fetch, whatever the fetch Timeout, then falls back.
func TestRemoteColdStartWaitIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
		want time.Duration
	}{
		{"default", 0, controlplane.DefaultColdStartWait},
		{"set", 40 * time.Millisecond, 40 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := newPlane(t, false)
			pl.set("block")
			clk := regotest.NewClock(time.Time{})
			rp := newRemote(t, controlplane.RemoteOptions{
				URL: pl.srv.URL, Clock: clk, ColdStartWait: tc.wait, Timeout: time.Hour,
			})
			got := make(chan error, 1)
			go func() {
				p, err := rp.GetEffectivePolicy(context.Background(), charge)
				if !p.IsZero() {
					err = fmt.Errorf("policy %+v", p)
				}
				got <- err
			}()
			<-pl.entered      // the lookup's fetch is stuck in the server
			clk.BlockUntil(1) // and the lookup waits on the clock
			clk.Advance(tc.want - time.Nanosecond)
			select {
			case err := <-got:
				t.Fatalf("lookup returned before the bound: %v", err)
			default:
			}
			clk.Advance(time.Nanosecond)
			var ue *controlplane.UnavailableError
			if err := <-got; !errors.As(err, &ue) {
				t.Fatalf("lookup = %v, want *UnavailableError", err)
			}
			// The fetch goes on and its document serves later lookups.
			close(pl.release)
			if err := rp.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			expect(t, rp, "v1", 4, policy.SourceRemote, false)
		})
	}
}

// A negative ColdStartWait: lookups neither wait nor fetch.
func TestRemoteColdStartNoWait(t *testing.T) {
	pl := newPlane(t, false)
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, ColdStartWait: -1})
	if _, err := rp.GetEffectivePolicy(context.Background(), charge); !errors.Is(err, controlplane.ErrProviderUnavailable) {
		t.Fatal(err)
	}
	if pl.count() != 0 {
		t.Fatal("a lookup fetched")
	}
}

// The remote provider's reload events.
func TestRemoteEvents(t *testing.T) {
	pl := newPlane(t, false)
	var evs events
	rp := newRemote(t, controlplane.RemoteOptions{URL: pl.srv.URL, Observer: &evs})
	refresh(t, rp)
	pl.set("down")
	if rp.Refresh(context.Background()) == nil {
		t.Fatal("refresh succeeded")
	}
	var st *controlplane.StatusError
	if ev := evs.last(); !errors.As(ev.Err, &st) {
		t.Fatalf("event %+v", ev)
	}
	pl.set("ok")
	writeFile(t, pl.path, doc("v2", 5))
	refresh(t, rp)
	if got := strings.Join(evs.list(), " "); got != "policy_reload/v1 policy_reload_failed/v1 policy_reload/v2" {
		t.Fatalf("events %s", got)
	}
}
