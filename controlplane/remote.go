package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// Defaults for RemoteOptions.
const (
	DefaultRemoteInterval = 30 * time.Second
	DefaultRemoteJitter   = 0.1
	DefaultRemoteTimeout  = 10 * time.Second
	DefaultMissInterval   = time.Second
)

// ErrClosed is returned by Refresh after Close.
var ErrClosed = errors.New("controlplane: provider closed")

// RemoteOptions configures a RemoteProvider. Only URL is required.
type RemoteOptions struct {
	// URL is where the document is fetched with GET. Required; http or
	// https.
	URL string
	// Client sends the requests. Nil means a client of its own whose
	// transport is a clone of http.DefaultTransport using TLSConfig.
	Client *http.Client
	// TLSConfig is used when Client is nil: set RootCAs to trust a private
	// control plane, Certificates for mutual TLS. Nil means the system
	// defaults.
	TLSConfig *tls.Config
	// AuthHeader names the header that carries AuthValue. Empty means
	// "Authorization".
	AuthHeader string
	// AuthValue, when non-empty, is sent in AuthHeader with every request
	// ("Bearer <token>").
	AuthValue string
	// Interval is the mean time between refreshes. Zero means
	// DefaultRemoteInterval. A negative interval starts no background
	// goroutine: the document is then fetched only by Refresh and by
	// lookups before the first document has loaded.
	Interval time.Duration
	// Jitter spreads refreshes uniformly over Interval*(1±Jitter) so a
	// fleet started together does not poll in lockstep. Zero means
	// DefaultRemoteJitter; negative means none; values above 1 are treated
	// as 1.
	Jitter float64
	// Timeout bounds each request. Zero means DefaultRemoteTimeout.
	Timeout time.Duration
	// MaxBytes bounds a response body; a larger one is rejected and the
	// document in force stays. Zero means DefaultMaxBytes.
	MaxBytes int64
	// CacheFile, when non-empty, is where the last good document is kept
	// (written atomically after every change). NewRemoteProvider loads it,
	// so a process restarted while the control plane is down still starts
	// with real policies, served as last-known-good until the server
	// confirms or replaces them.
	CacheFile string
	// MissInterval is the least time between fetches that lookups start
	// before any document has loaded; in between, such lookups fail at
	// once instead of sending a request each to a server that is down.
	// Zero means DefaultMissInterval.
	MissInterval time.Duration
	// Clock times refreshes. Nil means clock.Real.
	Clock clock.Clock
	// Rand returns uniform numbers in [0, 1) for the jitter. Nil means
	// math/rand.Float64.
	Rand func() float64
	// Decode parses a response body. Nil means policy.DecodeDocument
	// (JSON).
	Decode DecodeFunc
	// OnError, when non-nil, is called (from the refreshing goroutine)
	// with every failed fetch, for logging. It must not block.
	OnError func(error)
}

// RemoteProvider serves the policies of a document fetched over HTTP and
// refreshed in the background.
//
// Refreshes send If-None-Match with the ETag of the document in force, so
// an unchanged document costs a 304 and no decoding. A new document is
// decoded and normalised once, then swapped in atomically. Lookups read
// that immutable snapshot: they never touch the network once a document
// has loaded, take no lock and do not allocate.
//
// When a refresh fails (the server is down, answers with an error status,
// or sends a body that is too large or not a valid document), the
// last-known-good document stays in force: lookups return its policies
// with Meta.Source policy.SourceLKG together with a *StaleError, so the
// executor runs them and the timeline shows the failure. The next good
// refresh (or a 304) ends that.
//
// Before any document has loaded, a lookup joins the fetch in progress or
// starts one (one at a time however many callers miss, at most one per
// MissInterval) and waits for it within its context. If that fails it gets
// a zero policy and an *UnavailableError, and the executor applies its
// MissingPolicyMode.
//
// Policies carry Meta.Source policy.SourceRemote and Meta.Version set to
// the document's version. A RemoteProvider is safe for concurrent use; it
// owns a goroutine that Close stops.
type RemoteProvider struct {
	url       string
	client    *http.Client
	authKey   string
	authValue string
	interval  time.Duration
	jitter    float64
	timeout   time.Duration
	maxBytes  int64
	cacheFile string
	missEvery time.Duration
	clk       clock.Clock
	rnd       func() float64
	decode    DecodeFunc
	onError   func(error)

	// ownTransport is the transport made for a nil Client; Close closes
	// its idle connections.
	ownTransport *http.Transport

	snap atomic.Pointer[snapshot]
	// lastMiss is when (clock nanoseconds) a lookup last started a fetch.
	lastMiss atomic.Int64

	loads  group
	ctx    context.Context
	cancel context.CancelFunc
	loopWG sync.WaitGroup
	closed sync.Once

	// etag belongs to the fetch in progress; fetches run one at a time
	// (group), so it needs no lock of its own.
	etag string
}

// NewRemoteProvider validates opts, loads the cache file if there is one
// and, unless opts.Interval is negative, starts refreshing; the first
// fetch starts at once. It does not wait for the network.
func NewRemoteProvider(opts RemoteOptions) (*RemoteProvider, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("controlplane: RemoteOptions.URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("controlplane: RemoteOptions.URL: want an http or https URL, got %q", opts.URL)
	}
	p := &RemoteProvider{
		url:       opts.URL,
		client:    opts.Client,
		authKey:   opts.AuthHeader,
		authValue: opts.AuthValue,
		interval:  opts.Interval,
		jitter:    opts.Jitter,
		timeout:   opts.Timeout,
		maxBytes:  opts.MaxBytes,
		cacheFile: opts.CacheFile,
		missEvery: opts.MissInterval,
		clk:       opts.Clock,
		rnd:       opts.Rand,
		decode:    opts.Decode,
		onError:   opts.OnError,
	}
	if p.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = opts.TLSConfig
		p.client = &http.Client{Transport: t}
		p.ownTransport = t
	}
	if p.authKey == "" {
		p.authKey = "Authorization"
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
	if p.timeout <= 0 {
		p.timeout = DefaultRemoteTimeout
	}
	if p.maxBytes <= 0 {
		p.maxBytes = DefaultMaxBytes
	}
	if p.missEvery <= 0 {
		p.missEvery = DefaultMissInterval
	}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
	if p.rnd == nil {
		p.rnd = rand.Float64
	}
	if p.decode == nil {
		p.decode = policy.DecodeDocument
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.snap.Store(emptySnapshot(p.url))
	p.loadCache()
	if p.interval > 0 {
		p.loopWG.Add(1)
		go p.loop()
	}
	return p, nil
}

// loadCache puts the cached document in force as last-known-good. It is
// not fresh until the server confirms it (a 304 for its ETag) or replaces
// it.
func (p *RemoteProvider) loadCache() {
	if p.cacheFile == "" {
		return
	}
	e, err := readCache(p.cacheFile, p.url, p.maxBytes)
	if err != nil {
		return // no usable cache: start as if there were none
	}
	doc, err := p.decode(e.Body)
	if err != nil {
		return
	}
	doc.SetSource(policy.SourceRemote)
	p.etag = e.ETag
	cause := fmt.Errorf("controlplane: cached copy from %s, not yet confirmed by the server", e.SavedAt.UTC().Format(time.RFC3339))
	p.snap.Store(staleSnapshot(doc, p.url, cause))
}

func (p *RemoteProvider) loop() {
	defer p.loopWG.Done()
	var wait time.Duration // the first fetch goes at once
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

// nextInterval draws the wait before the next refresh.
func (p *RemoteProvider) nextInterval() time.Duration {
	if p.jitter == 0 {
		return p.interval
	}
	f := 1 + p.jitter*(2*p.rnd()-1)
	return time.Duration(float64(p.interval) * f)
}

// Refresh fetches the document now (or waits for the fetch in progress)
// and returns its error; ctx bounds only the wait. After Close it returns
// ErrClosed.
func (p *RemoteProvider) Refresh(ctx context.Context) error {
	f := p.loads.start(p.fetch, ErrClosed)
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch is one conditional GET. It runs only inside the group, so fetches
// never overlap.
func (p *RemoteProvider) fetch() error {
	err := p.fetchOnce()
	if err != nil {
		p.snap.Store(failedSnapshot(p.snap.Load(), p.url, err))
		if p.onError != nil {
			p.onError(err)
		}
	}
	return err
}

func (p *RemoteProvider) fetchOnce() error {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if p.authValue != "" {
		req.Header.Set(p.authKey, p.authValue)
	}
	cur := p.snap.Load()
	if cur.doc != nil && p.etag != "" {
		req.Header.Set("If-None-Match", p.etag)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("controlplane: fetch: %w", err)
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 4096)
		resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if cur.doc == nil {
			return fmt.Errorf("controlplane: fetch %s: 304 Not Modified without a document", p.url)
		}
		if cur.stale {
			p.snap.Store(freshSnapshot(cur.doc))
		}
		return nil
	case http.StatusOK:
	default:
		return &StatusError{URL: p.url, Code: resp.StatusCode}
	}
	if resp.ContentLength > p.maxBytes {
		return &TooLargeError{Source: p.url, Limit: p.maxBytes}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBytes+1))
	if err != nil {
		return fmt.Errorf("controlplane: fetch %s: %w", p.url, err)
	}
	if int64(len(body)) > p.maxBytes {
		return &TooLargeError{Source: p.url, Limit: p.maxBytes}
	}
	doc, err := p.decode(body)
	if err != nil {
		return fmt.Errorf("controlplane: fetch %s: %w", p.url, err)
	}
	doc.SetSource(policy.SourceRemote)
	p.etag = resp.Header.Get("ETag")
	p.snap.Store(freshSnapshot(doc))
	if p.cacheFile != "" {
		err := writeCache(p.cacheFile, cacheEntry{URL: p.url, ETag: p.etag, SavedAt: p.clk.Now(), Body: body})
		if err != nil && p.onError != nil {
			// The document is in force; only the next restart's head start
			// is lost.
			p.onError(err)
		}
	}
	return nil
}

// GetEffectivePolicy returns the policy for key from the document in force.
// Once a document has loaded it never blocks. See RemoteProvider for the
// errors that may come with the policy.
func (p *RemoteProvider) GetEffectivePolicy(ctx context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	s := p.snap.Load()
	if s.doc != nil {
		return s.get(key)
	}
	return p.miss(ctx, key, s)
}

// GetEffectivePolicyRef is GetEffectivePolicy without the copy; see
// PolicyRefProvider.
func (p *RemoteProvider) GetEffectivePolicyRef(ctx context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	s := p.snap.Load()
	if s.doc != nil {
		return s.ref(key)
	}
	p.miss(ctx, key, s)
	return p.snap.Load().ref(key)
}

// miss serves a lookup before the first document: it waits, within ctx,
// for the fetch in progress, or starts one unless a lookup started one
// within MissInterval.
func (p *RemoteProvider) miss(ctx context.Context, key policy.PolicyKey, s *snapshot) (policy.EffectivePolicy, error) {
	f, ok := p.loads.startIf(p.fetch, ErrClosed, func() bool {
		now := p.clk.Now().UnixNano()
		if last := p.lastMiss.Load(); last != 0 && now-last < int64(p.missEvery) {
			return false
		}
		p.lastMiss.Store(now)
		return true
	})
	if !ok {
		// A load finished moments ago (possibly after s was read): answer
		// from the latest snapshot.
		return p.snap.Load().get(key)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
	}
	return p.snap.Load().get(key)
}

// Version returns the version of the document in force, or "" before the
// first load.
func (p *RemoteProvider) Version() string { return p.snap.Load().version() }

// Document returns the document in force, or nil. It must not be
// modified.
func (p *RemoteProvider) Document() *policy.Document { return p.snap.Load().doc }

// LastError returns why the last fetch failed, or nil when the document in
// force is confirmed by the server.
func (p *RemoteProvider) LastError() error { return p.snap.Load().cause }

// Close stops the background refresh, cancels a fetch in progress and
// waits for every goroutine the provider started. Lookups keep working on
// the document in force. Close is idempotent and always returns nil.
func (p *RemoteProvider) Close() error {
	p.closed.Do(func() {
		p.cancel()
		p.loopWG.Wait()
		p.loads.close()
		if p.ownTransport != nil {
			p.ownTransport.CloseIdleConnections()
		}
	})
	return nil
}

// StatusError reports a response whose status is neither 200 nor 304.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("controlplane: fetch %s: unexpected status %d %s", e.URL, e.Code, http.StatusText(e.Code))
}
