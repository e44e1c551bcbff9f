package controlplane

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
)

// DefaultColdStartWait is how long a lookup waits, by default, for a
// provider's first document before it gives up and the executor applies
// its MissingPolicyMode.
const DefaultColdStartWait = 250 * time.Millisecond

// SourceOptions configures a SourceProvider. The zero value works: JSON
// documents, refreshed every DefaultRemoteInterval, no disk cache.
type SourceOptions struct {
	// Decode parses a document. Nil means policy.DecodeDocument (JSON).
	Decode DecodeFunc
	// PolicySource is the Meta.Source of the policies served (while they
	// are fresh; policy.SourceLKG when stale). Empty means
	// policy.SourceRemote.
	PolicySource policy.PolicySource
	// MaxBytes bounds a document's size; a larger one is rejected and the
	// document in force stays. Zero means DefaultMaxBytes.
	MaxBytes int64
	// Interval is the mean time between calls of the source's Fetch. Zero
	// means DefaultRemoteInterval. A negative interval starts no polling:
	// documents then come from Refresh, from lookups before the first
	// document, and from Watch when the source is a Watcher. A Watcher
	// is polled too, unless Interval is negative, to resynchronise
	// and to notice an outage its watch does not report; its first poll
	// comes after one interval, any other source's at once.
	Interval time.Duration
	// Jitter spreads polls uniformly over Interval*(1±Jitter) so a fleet
	// started together does not poll in lockstep. Zero means
	// DefaultRemoteJitter; negative means none; values above 1 are treated
	// as 1.
	Jitter float64
	// Rand returns uniform numbers in [0, 1) for the jitter. Nil means
	// math/rand.Float64.
	Rand func() float64
	// CacheFile, when non-empty, is where the last good document is kept
	// (written atomically after every change). NewSourceProvider loads
	// it, so a process restarted while the source is down still starts
	// with real policies, served as last-known-good until the source
	// confirms or replaces them. A cache file that exists but cannot be
	// used (torn, written for another source, not a valid document) is
	// reported like a failed load: LastError, OnError and an
	// EventPolicyReloadFailed.
	CacheFile string
	// ColdStartWait bounds how long a lookup waits for the first document
	// when none is in force: the lookup joins the fetch in progress, or
	// starts one, and waits at most this long (and within its context);
	// then it returns an *UnavailableError and the executor applies its
	// MissingPolicyMode. The fetch itself goes on, bounded only by the
	// source. Zero means DefaultColdStartWait. Negative means lookups
	// neither wait nor start a fetch.
	ColdStartWait time.Duration
	// MissInterval is the least time between fetches that lookups start
	// before any document has loaded; in between, such lookups fail at
	// once instead of sending a request each to a source that is down.
	// Zero means DefaultMissInterval.
	MissInterval time.Duration
	// Clock times polls and the cold-start wait. Nil means clock.Real.
	Clock clock.Clock
	// OnError, when non-nil, is called with every failure to fetch or load
	// a document (a document rejected once is not reported again until it
	// changes) and with failures to write the cache file, for logging. It
	// is called synchronously from the goroutine that saw the failure; it
	// must not block nor call Refresh.
	OnError func(error)
	// Observer, when non-nil, receives an observe.EventPolicyReload event
	// (Version set) whenever a document is put in force, Detail "cache"
	// when it comes from the cache file, and an
	// observe.EventPolicyReloadFailed event (Err set) whenever OnError
	// would be called for a load. Same rules as OnError.
	Observer observe.EventObserver
}

// SourceProvider serves the policies of the documents a Source reads. It
// is the provider behind FileProvider and RemoteProvider, and the one to
// use with a Source of your own (see Source).
//
// A new document is decoded and normalised once, then swapped in
// atomically. Lookups read that immutable snapshot: they take no lock and
// do not allocate, and once a document has loaded they never wait.
//
// When a load fails (the source fails, or sends a document that is too
// large or not valid), the last-known-good document stays in force:
// lookups return its policies with Meta.Source policy.SourceLKG together
// with a *StaleError, so the executor runs them and the timeline shows the
// failure. The next good load (or a confirmation that the document in
// force is current) ends that. Before any document has loaded, lookups
// wait for one at most ColdStartWait, then get a zero policy and an
// *UnavailableError.
//
// Closing the provider is not a failure: a fetch that Close cancels
// changes nothing. A SourceProvider is safe for concurrent use; it owns
// its goroutines, which Close stops.
type SourceProvider struct {
	src       Source
	name      string
	decode    DecodeFunc
	psrc      policy.PolicySource
	maxBytes  int64
	interval  time.Duration
	jitter    float64
	rnd       func() float64
	cacheFile string
	coldWait  time.Duration
	missEvery time.Duration
	clk       clock.Clock
	onError   func(error)
	observer  observe.EventObserver

	snap atomic.Pointer[snapshot]
	// lastMiss is when (clock nanoseconds) a lookup last started a fetch.
	lastMiss atomic.Int64

	// mu serialises loads (from Fetch, Watch and Update) and guards what
	// follows.
	mu sync.Mutex
	// rev is the revision of the document in force; rejected the last
	// revision that failed to decode.
	rev, rejected string
	stats         Stats

	loads  group
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// Stats counts what a SourceProvider has done.
type Stats struct {
	// Loads counts documents put in force, the cached one included.
	Loads uint64
	// Failures counts failed loads (each reported to OnError).
	Failures uint64
	// LastLoad and LastFailure are when (by the provider's clock) the last
	// of each happened; zero if never.
	LastLoad, LastFailure time.Time
}

// NewSourceProvider loads opts.CacheFile, if any, and starts reading src:
// its Watch, if it is a Watcher, and the polls. It does not wait for the
// source. It panics if src is nil.
func NewSourceProvider(src Source, opts SourceOptions) *SourceProvider {
	p := newSourceProvider(src, opts)
	p.start(false)
	return p
}

// newSourceProvider makes the provider without starting it, so that a
// constructor can load the first document before the polls begin.
func newSourceProvider(src Source, opts SourceOptions) *SourceProvider {
	if src == nil {
		panic("controlplane: NewSourceProvider with a nil Source")
	}
	p := &SourceProvider{
		src:       src,
		name:      src.Name(),
		decode:    opts.Decode,
		psrc:      opts.PolicySource,
		maxBytes:  opts.MaxBytes,
		interval:  opts.Interval,
		jitter:    opts.Jitter,
		rnd:       opts.Rand,
		cacheFile: opts.CacheFile,
		coldWait:  opts.ColdStartWait,
		missEvery: opts.MissInterval,
		clk:       opts.Clock,
		onError:   opts.OnError,
		observer:  opts.Observer,
	}
	p.defaults()
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.snap.Store(emptySnapshot(p.name))
	p.loadCache()
	return p
}

// start runs the source's Watch and the polls. The first poll comes at
// once, unless the first document was fetched already or comes from Watch.
func (p *SourceProvider) start(fetched bool) {
	w, watches := p.src.(Watcher)
	if watches {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w.Watch(p.ctx, p)
		}()
	}
	if p.interval > 0 {
		p.wg.Add(1)
		go p.poll(watches || fetched)
	}
}

func (p *SourceProvider) defaults() {
	if p.decode == nil {
		p.decode = policy.DecodeDocument
	}
	if p.psrc == "" {
		p.psrc = policy.SourceRemote
	}
	if p.maxBytes <= 0 {
		p.maxBytes = DefaultMaxBytes
	}
	if p.interval == 0 {
		p.interval = DefaultRemoteInterval
	}
	switch {
	case p.jitter == 0:
		p.jitter = DefaultRemoteJitter
	case p.jitter < 0:
		p.jitter = 0
	case p.jitter > 1:
		p.jitter = 1
	}
	if p.rnd == nil {
		p.rnd = rand.Float64
	}
	if p.coldWait == 0 {
		p.coldWait = DefaultColdStartWait
	}
	if p.missEvery <= 0 {
		p.missEvery = DefaultMissInterval
	}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
}

func (p *SourceProvider) poll(later bool) {
	defer p.wg.Done()
	var wait time.Duration
	if later {
		wait = p.nextInterval()
	}
	for {
		if wait > 0 {
			t := p.clk.NewTimer(wait)
			select {
			case <-p.ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
		}
		f := p.loads.start(p.fetch, ErrClosed)
		select {
		case <-p.ctx.Done():
			return
		case <-f.done:
		}
		wait = p.nextInterval()
	}
}

// nextInterval draws the wait before the next poll.
func (p *SourceProvider) nextInterval() time.Duration {
	if p.jitter == 0 {
		return p.interval
	}
	f := 1 + p.jitter*(2*p.rnd()-1)
	return time.Duration(float64(p.interval) * f)
}

// Refresh fetches the document now (or waits for the fetch in progress)
// and returns its error; ctx bounds only the wait. After Close it returns
// ErrClosed.
func (p *SourceProvider) Refresh(ctx context.Context) error {
	f := p.loads.start(p.fetch, ErrClosed)
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch is one call of the source's Fetch. It runs only inside the group,
// so fetches never overlap.
func (p *SourceProvider) fetch() error {
	p.mu.Lock()
	known := p.rev
	p.mu.Unlock()
	u, err := p.src.Fetch(p.ctx, known)
	if p.ctx.Err() != nil {
		// Close cancelled the fetch: shutting down is not a failure, and
		// whatever arrived meanwhile is dropped with the provider.
		return ErrClosed
	}
	if err != nil {
		p.ReportError(err)
		return err
	}
	return p.Update(u)
}

// Update puts u in force, as a Watcher's Sink; see Sink. Programs may
// also call it to push a document themselves.
func (p *SourceProvider) Update(u Update) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.snap.Load()
	if u.Unchanged && u.Revision != "" && u.Revision != p.rev {
		// An answer about a document no longer in force (a watch replaced
		// it while the fetch was out): it confirms nothing.
		return nil
	}
	if u.Unchanged || (u.Revision != "" && u.Revision == p.rev && cur.doc != nil) {
		if cur.doc == nil {
			err := fmt.Errorf("controlplane: %s reported no change, but no document is in force", p.name)
			p.failLocked(err)
			return err
		}
		if cur.stale {
			p.snap.Store(freshSnapshot(cur.doc))
		}
		return nil
	}
	if u.Revision != "" && u.Revision == p.rejected {
		return cur.cause // rejected already, and reported then
	}
	if int64(len(u.Body)) > p.maxBytes {
		err := &TooLargeError{Source: p.name, Limit: p.maxBytes}
		p.failLocked(err)
		return err
	}
	doc, err := p.decode(u.Body)
	if err != nil {
		p.failLocked(err)
		p.rejected = u.Revision
		return err
	}
	doc.SetSource(p.psrc)
	p.rev, p.rejected = u.Revision, ""
	p.snap.Store(freshSnapshot(doc))
	p.loadedLocked(doc, "")
	if p.cacheFile != "" {
		e := cacheEntry{Source: p.name, Revision: u.Revision, SavedAt: p.clk.Now(), Body: u.Body}
		if err := writeCache(p.cacheFile, e); err != nil && p.onError != nil {
			// The document is in force; only the next restart's head start
			// is lost.
			p.onError(err)
		}
	}
	return nil
}

// ReportError records a failure of the source; see Sink. After Close it
// does nothing.
func (p *SourceProvider) ReportError(err error) {
	if err == nil || p.ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failLocked(err)
}

// failLocked keeps the document in force as last-known-good and tells
// whoever listens.
func (p *SourceProvider) failLocked(err error) {
	p.snap.Store(failedSnapshot(p.snap.Load(), p.name, err))
	p.rejected = ""
	now := p.clk.Now()
	p.stats.Failures++
	p.stats.LastFailure = now
	if p.onError != nil {
		p.onError(err)
	}
	if p.observer != nil {
		p.observer.OnEvent(context.Background(), observe.Event{
			Kind: observe.EventPolicyReloadFailed, Time: now, Version: p.snap.Load().version(), Err: err,
		})
	}
}

func (p *SourceProvider) loadedLocked(doc *policy.Document, detail string) {
	now := p.clk.Now()
	p.stats.Loads++
	p.stats.LastLoad = now
	if p.observer != nil {
		p.observer.OnEvent(context.Background(), observe.Event{
			Kind: observe.EventPolicyReload, Time: now, Version: doc.Version, Detail: detail,
		})
	}
}

// Stats returns the provider's counters.
func (p *SourceProvider) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops the provider's goroutines (the polls and the source's
// Watch), cancels a fetch in progress and waits for all of them. Lookups
// keep working on the document in force, which stays as healthy as it
// was. Close is idempotent and always returns nil.
func (p *SourceProvider) Close() error {
	p.closed.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.loads.close()
	})
	return nil
}
