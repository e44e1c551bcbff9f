package controlplane_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
)

// memSource is a third-party source written against the exported seam
// only: a document in memory, with a revision counter, that Fetch reads
// and Watch pushes.
type memSource struct {
	mu      sync.Mutex
	body    string
	rev     int
	err     error
	fetches int
	pushes  chan controlplane.Update
	acks    chan struct{}
}

func newMemSource(body string) *memSource {
	return &memSource{body: body, rev: 1, pushes: make(chan controlplane.Update), acks: make(chan struct{})}
}

func (s *memSource) Name() string { return "mem:policies" }

func (s *memSource) set(body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.rev = body, s.rev+1
}

func (s *memSource) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *memSource) Fetch(ctx context.Context, known string) (controlplane.Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	if s.err != nil {
		return controlplane.Update{}, s.err
	}
	rev := strconv.Itoa(s.rev)
	if rev == known {
		return controlplane.Update{Unchanged: true, Revision: rev}, nil
	}
	return controlplane.Update{Body: []byte(s.body), Revision: rev}, nil
}

// memWatcher adds a Watch that forwards what the test pushes.
type memWatcher struct{ *memSource }

func (w memWatcher) Watch(ctx context.Context, sink controlplane.Sink) {
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-w.pushes:
			if u.Body == nil && !u.Unchanged {
				sink.ReportError(errors.New("mem: connection lost"))
			} else {
				sink.Update(u)
			}
			w.acks <- struct{}{}
		}
	}
}

// push hands u to the watch and waits until it has been delivered.
func (s *memSource) push(u controlplane.Update) {
	s.pushes <- u
	<-s.acks
}

func TestSourceProviderThirdPartySource(t *testing.T) {
	src := newMemSource(doc("v1", 4))
	var evs events
	sp := controlplane.NewSourceProvider(src, controlplane.SourceOptions{Interval: -1, Observer: &evs})
	defer sp.Close()

	// The first lookup fetches and waits for the document.
	expect(t, sp, "v1", 4, policy.SourceRemote, false)
	// Unchanged: a confirmation, nothing decoded or reloaded.
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.set(doc("v2", 6))
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "v2", 6, policy.SourceRemote, false)

	src.fail(errors.New("mem: down"))
	if err := sp.Refresh(context.Background()); err == nil {
		t.Fatal("failed fetch succeeded")
	}
	err := expect(t, sp, "v2", 6, policy.SourceLKG, true)
	var se *controlplane.StaleError
	if !errors.As(err, &se) || se.Source != "mem:policies" || se.Version != "v2" {
		t.Fatalf("stale error %v", err)
	}
	// Back, unchanged: the confirmation ends the fallback.
	src.fail(nil)
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "v2", 6, policy.SourceRemote, false)

	if got := strings.Join(evs.list(), " "); got != "policy_reload/v1 policy_reload/v2 policy_reload_failed/v2" {
		t.Fatalf("events %s", got)
	}
	if s := sp.Stats(); s.Loads != 2 || s.Failures != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// A revision that was rejected is not decoded nor reported again.
func TestSourceProviderRejectedRevisionDecodedOnce(t *testing.T) {
	src := newMemSource(doc("v1", 4))
	var decodes, reported atomic.Int32
	sp := controlplane.NewSourceProvider(src, controlplane.SourceOptions{
		Interval: -1,
		Decode: func(b []byte) (*policy.Document, error) {
			decodes.Add(1)
			return policy.DecodeDocument(b)
		},
		OnError: func(error) { reported.Add(1) },
	})
	defer sp.Close()
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.set(`{"version":`)
	for i := 0; i < 3; i++ {
		if err := sp.Refresh(context.Background()); !errors.Is(err, policy.ErrInvalidDocument) {
			t.Fatalf("refresh %d: %v", i, err)
		}
	}
	if decodes.Load() != 2 || reported.Load() != 1 {
		t.Fatalf("%d decodes, %d reports; want 2 and 1", decodes.Load(), reported.Load())
	}
	expect(t, sp, "v1", 4, policy.SourceLKG, true)
}

// A Watcher's pushes reach lookups; its reported errors make the document
// stale; after Close nothing it reports counts.
func TestSourceProviderWatcher(t *testing.T) {
	src := newMemSource(doc("v1", 4))
	w := memWatcher{src}
	cache := filepath.Join(t.TempDir(), "cache")
	sp := controlplane.NewSourceProvider(w, controlplane.SourceOptions{Interval: -1, CacheFile: cache})
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.push(controlplane.Update{Body: []byte(doc("v2", 5)), Revision: "2"})
	src.push(controlplane.Update{}) // a lost connection
	err := expect(t, sp, "v2", 5, policy.SourceLKG, true)
	if !strings.Contains(err.Error(), "connection lost") {
		t.Fatal(err)
	}
	src.push(controlplane.Update{Unchanged: true, Revision: "2"})
	expect(t, sp, "v2", 5, policy.SourceRemote, false)
	src.push(controlplane.Update{Body: []byte(doc("v3", 6)), Revision: "3"})
	sp.Close()
	expect(t, sp, "v3", 6, policy.SourceRemote, false)
	sp.ReportError(errors.New("after close"))
	if sp.LastError() != nil {
		t.Fatal("an error reported after Close counted")
	}

	// A restart while the source is down starts from the cache, whose
	// revision the source can then confirm.
	src.fail(errors.New("mem: down"))
	again := controlplane.NewSourceProvider(w, controlplane.SourceOptions{Interval: -1, CacheFile: cache})
	defer again.Close()
	expect(t, again, "v3", 6, policy.SourceLKG, true)
	src.fail(nil)
	src.set(doc("v2", 5))
	src.set(doc("v3", 6)) // revision 3: the cached document
	if err := again.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, again, "v3", 6, policy.SourceRemote, false)
	if s := again.Stats(); s.Loads != 1 {
		t.Fatalf("the confirmed cache was loaded again: %+v", s)
	}
}

// The polls of a source that only fetches, on virtual time.
func TestSourceProviderPolls(t *testing.T) {
	src := newMemSource(doc("v1", 4))
	clk := regotest.NewClock(time.Time{})
	sp := controlplane.NewSourceProvider(src, controlplane.SourceOptions{Interval: time.Minute, Jitter: -1, Clock: clk})
	defer sp.Close()
	clk.BlockUntil(1) // the first fetch went at once; the next waits
	expect(t, sp, "v1", 4, policy.SourceRemote, false)
	src.set(doc("v2", 5))
	clk.Advance(time.Minute)
	clk.BlockUntil(1)
	expect(t, sp, "v2", 5, policy.SourceRemote, false)
	sp.Close()
	if clk.Pending() != 0 {
		t.Fatal("timer left after Close")
	}
}

func TestSourceProviderNeedsSource(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.HasPrefix(r, "controlplane: ") {
			t.Fatalf("panic = %q", r)
		}
	}()
	controlplane.NewSourceProvider(nil, controlplane.SourceOptions{})
}

// An Unchanged answer about a revision that is no longer in force
// confirms nothing.
func TestSourceProviderIgnoresOutdatedUnchanged(t *testing.T) {
	src := newMemSource(doc("v1", 4))
	sp := controlplane.NewSourceProvider(src, controlplane.SourceOptions{Interval: -1})
	defer sp.Close()
	if err := sp.Update(controlplane.Update{Body: []byte(doc("v1", 4)), Revision: "1"}); err != nil {
		t.Fatal(err)
	}
	sp.ReportError(errors.New("lost"))
	if err := sp.Update(controlplane.Update{Unchanged: true, Revision: "0"}); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "v1", 4, policy.SourceLKG, true)
	if err := sp.Update(controlplane.Update{Unchanged: true, Revision: "1"}); err != nil {
		t.Fatal(err)
	}
	expect(t, sp, "v1", 4, policy.SourceRemote, false)
}
