package regoetcd_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aponysus/rego/controlplane"
	regoetcd "github.com/aponysus/rego/integrations/etcd"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var charge = policy.ParseKey("payments.Charge")

// doc returns a document of the given version whose payments.Charge
// policy makes attempts attempts, so a lookup tells which version it saw.
func doc(version string, attempts int) string {
	return fmt.Sprintf(`{"version":%q,"policies":{"payments.Charge":{"retry":{"max_attempts":%d,"jitter":"none"}}}}`, version, attempts)
}

// events wakes a test up at each lifecycle event and counts failures.
type events struct {
	ch       chan observe.Event
	failures atomic.Int32
}

func newEvents() *events { return &events{ch: make(chan observe.Event, 1024)} }

func (e *events) OnEvent(_ context.Context, ev observe.Event) {
	if ev.Kind == observe.EventPolicyReloadFailed {
		e.failures.Add(1)
	}
	select {
	case e.ch <- ev:
	default:
	}
}

// waitFor waits until cond holds, checking at each event. The bound is a
// guard against a hang, not a timing requirement.
func waitFor(t *testing.T, evs *events, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-evs.ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type fixture struct {
	srv *server
	cli *clientv3.Client
	key string
	evs *events
}

func newFixture(t *testing.T) *fixture {
	srv := startServer(t)
	return &fixture{srv: srv, cli: srv.newClient(), key: "/rego/" + t.Name(), evs: newEvents()}
}

// provider starts a provider on the fixture's key that only the watch
// feeds (no periodic reads), unless opts says otherwise.
func (f *fixture) provider(t *testing.T, opts controlplane.SourceOptions, src ...func(*regoetcd.Source)) *controlplane.SourceProvider {
	t.Helper()
	s, err := regoetcd.NewSource(regoetcd.Options{Client: f.cli, Key: f.key, Timeout: 2 * time.Second, MinRetryWait: 20 * time.Millisecond, MaxRetryWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range src {
		fn(s)
	}
	if opts.Interval == 0 {
		opts.Interval = -1
	}
	if opts.Observer == nil {
		opts.Observer = f.evs
	}
	p := controlplane.NewSourceProvider(s, opts)
	t.Cleanup(func() { p.Close() })
	return p
}

// providerAtV1 puts document v1 (with attempts attempts) and returns a
// provider that has loaded it.
func (f *fixture) providerAtV1(t *testing.T, attempts int, opts controlplane.SourceOptions) *controlplane.SourceProvider {
	t.Helper()
	put(t, f.cli, f.key, doc("v1", attempts))
	p := f.provider(t, opts)
	waitFor(t, f.evs, "v1", hasVersion(p, "v1"))
	return p
}

// lookup returns the version and attempts a lookup of payments.Charge sees.
func lookup(p controlplane.PolicyProvider) (string, int, policy.PolicySource, error) {
	pol, err := p.GetEffectivePolicy(context.Background(), charge)
	return pol.Meta.Version, pol.Retry.MaxAttempts, pol.Meta.Source, err
}

func hasVersion(p *controlplane.SourceProvider, v string) func() bool {
	return func() bool { return p.Version() == v }
}

func TestUpdatesArriveByPush(t *testing.T) {
	f := newFixture(t)
	p := f.providerAtV1(t, 3, controlplane.SourceOptions{})
	start := time.Now()
	put(t, f.cli, f.key, doc("v2", 5))
	waitFor(t, f.evs, "v2 by push", hasVersion(p, "v2"))
	t.Logf("a put reached the provider in %v (reported, not judged)", time.Since(start))
	if v, n, src, err := lookup(p); v != "v2" || n != 5 || src != policy.SourceRemote || err != nil {
		t.Fatalf("lookup = %s %d %s %v", v, n, src, err)
	}
	if n := f.evs.failures.Load(); n != 0 {
		t.Fatalf("%d failures", n)
	}
}

func TestInvalidAndOversizedDocumentsKeepLastGood(t *testing.T) {
	f := newFixture(t)
	p := f.providerAtV1(t, 3, controlplane.SourceOptions{MaxBytes: 512})

	for i, bad := range []struct {
		value string
		is    func(error) bool
	}{
		{`{"version":"v2","policies":{"payments.Charge":{"retry":{"jitter":"wobbly"}}}}`, func(err error) bool { return errors.Is(err, policy.ErrInvalidDocument) }},
		{doc("v3", 4) + strings.Repeat(" ", 600), func(err error) bool {
			var tl *controlplane.TooLargeError
			return errors.As(err, &tl) && tl.Limit == 512
		}},
	} {
		put(t, f.cli, f.key, bad.value)
		waitFor(t, f.evs, "the failure", func() bool { return f.evs.failures.Load() == int32(i+1) })
		v, n, src, err := lookup(p)
		var se *controlplane.StaleError
		if v != "v1" || n != 3 || src != policy.SourceLKG || !errors.As(err, &se) || !bad.is(err) {
			t.Fatalf("bad document %d: lookup = %s %d %s %v", i, v, n, src, err)
		}
	}
	put(t, f.cli, f.key, doc("v4", 6))
	waitFor(t, f.evs, "v4", hasVersion(p, "v4"))
	if _, _, src, err := lookup(p); src != policy.SourceRemote || err != nil || p.LastError() != nil {
		t.Fatalf("after a good document: %s %v", src, err)
	}
}

func TestDeletedKeyKeepsLastGood(t *testing.T) {
	f := newFixture(t)
	p := f.providerAtV1(t, 3, controlplane.SourceOptions{})
	if _, err := f.cli.Delete(context.Background(), f.key); err != nil {
		t.Fatal(err)
	}
	waitFor(t, f.evs, "the deletion", func() bool { return errors.Is(p.LastError(), regoetcd.ErrNoDocument) })
	if v, _, src, err := lookup(p); v != "v1" || src != policy.SourceLKG || !errors.Is(err, regoetcd.ErrNoDocument) {
		t.Fatalf("lookup = %s %s %v", v, src, err)
	}
}

// The revisions the watch needs are compacted between its read and its
// start: the source reads again and watches from the new revision, and
// that is not a failure.
func TestCompaction(t *testing.T) {
	f := newFixture(t)
	put(t, f.cli, f.key, doc("v1", 3))
	var once sync.Once
	p := f.provider(t, controlplane.SourceOptions{}, func(s *regoetcd.Source) {
		regoetcd.SetBeforeWatch(s, func(int64) {
			// On the watch's goroutine: report, never t.Fatal.
			once.Do(func() {
				ctx := context.Background()
				var resp *clientv3.PutResponse
				_, err := f.cli.Put(ctx, f.key, doc("v2", 4))
				if err == nil {
					resp, err = f.cli.Put(ctx, f.key, doc("v3", 5))
				}
				if err == nil {
					_, err = f.cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical())
				}
				if err != nil {
					t.Error(err)
				}
			})
		})
	})
	waitFor(t, f.evs, "v3 after compaction", hasVersion(p, "v3"))
	put(t, f.cli, f.key, doc("v4", 6)) // and the new watch works
	waitFor(t, f.evs, "v4", hasVersion(p, "v4"))
	if n := f.evs.failures.Load(); n != 0 || p.LastError() != nil {
		t.Fatalf("%d failures, LastError %v", n, p.LastError())
	}
}

// etcd goes away: lookups keep the last good document (stale once a read
// fails), a process restarted meanwhile starts from its cache file, and
// both follow the server again when it is back.
func TestServerStopAndRestart(t *testing.T) {
	f := newFixture(t)
	cache := filepath.Join(t.TempDir(), "policies.cache")
	running := f.providerAtV1(t, 3, controlplane.SourceOptions{CacheFile: cache})

	f.srv.stop()
	if err := running.Refresh(context.Background()); err == nil {
		t.Fatal("a read with etcd down succeeded")
	}
	if v, n, src, err := lookup(running); v != "v1" || n != 3 || src != policy.SourceLKG || !errors.Is(err, controlplane.ErrProviderUnavailable) {
		t.Fatalf("during the outage: %s %d %s %v", v, n, src, err)
	}

	// A process started during the outage serves its cached document.
	restartedEvs := newEvents()
	restarted := f.provider(t, controlplane.SourceOptions{CacheFile: cache, Observer: restartedEvs})
	if v, n, src, err := lookup(restarted); v != "v1" || n != 3 || src != policy.SourceLKG || err == nil {
		t.Fatalf("restarted during the outage: %s %d %s %v", v, n, src, err)
	}

	f.srv.start()
	put(t, f.cli, f.key, doc("v2", 5))
	waitFor(t, f.evs, "v2 on the running provider", hasVersion(running, "v2"))
	waitFor(t, restartedEvs, "v2 on the restarted provider", hasVersion(restarted, "v2"))
	for _, p := range []*controlplane.SourceProvider{running, restarted} {
		if v, n, src, err := lookup(p); v != "v2" || n != 5 || src != policy.SourceRemote || err != nil {
			t.Fatalf("after the outage: %s %d %s %v", v, n, src, err)
		}
	}
}

// Many readers while documents change: every lookup sees one whole
// document.
func TestConcurrentReaders(t *testing.T) {
	f := newFixture(t)
	p := f.providerAtV1(t, 4, controlplane.SourceOptions{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var bad atomic.Value
	var reads atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if i%32 == 0 {
					runtime.Gosched() // let the watch through on a small machine
				}
				pol, err := p.GetEffectivePolicyRef(context.Background(), charge)
				var n int
				// Each version vN carries N+3 attempts: a torn read shows.
				if _, serr := fmt.Sscanf(pol.Meta.Version, "v%d", &n); err != nil || serr != nil || pol.Retry.MaxAttempts != min(n+3, 10) {
					bad.Store(fmt.Sprintf("lookup %+v, %v", pol, err))
				}
				reads.Add(1)
			}
		}()
	}
	for v := 2; v <= 20; v++ {
		put(t, f.cli, f.key, doc(fmt.Sprintf("v%d", v), v+3))
	}
	waitFor(t, f.evs, "v20", hasVersion(p, "v20"))
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
	if reads.Load() == 0 {
		t.Fatal("no reads")
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, o := range []regoetcd.Options{{Key: "/k"}, {Client: &clientv3.Client{}}} {
		if _, err := regoetcd.NewSource(o); err == nil || !strings.HasPrefix(err.Error(), "regoetcd: ") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	f := newFixture(t)
	p := f.providerAtV1(t, 4, controlplane.SourceOptions{})
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() {
		p.GetEffectivePolicy(ctx, charge)
		p.GetEffectivePolicyRef(ctx, charge)
	}); n != 0 {
		t.Fatalf("%v allocations per lookup", n)
	}
}
