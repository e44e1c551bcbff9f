package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/observe"
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
	// confirms or replaces them. A cache file that exists but cannot be
	// used (torn, written for another URL, not a valid document) is
	// reported: LastError, OnError and Observer say why.
	CacheFile string
	// MissInterval is the least time between fetches that lookups start
	// before any document has loaded; in between, such lookups fail at
	// once instead of sending a request each to a server that is down.
	// Zero means DefaultMissInterval.
	MissInterval time.Duration
	// ColdStartWait bounds how long a lookup waits for the first document
	// (apart from Timeout, which bounds the fetch): after it the lookup
	// gets an *UnavailableError and the executor applies its
	// MissingPolicyMode. Zero means DefaultColdStartWait (250ms); negative
	// means lookups neither wait nor start a fetch.
	ColdStartWait time.Duration
	// Clock times refreshes. Nil means clock.Real.
	Clock clock.Clock
	// Rand returns uniform numbers in [0, 1) for the jitter. Nil means
	// math/rand.Float64.
	Rand func() float64
	// Decode parses a response body. Nil means policy.DecodeDocument
	// (JSON).
	Decode DecodeFunc
	// OnError, when non-nil, is called (from the refreshing goroutine)
	// with every failed fetch, a broken cache file and a failed cache
	// write, for logging. A document rejected once is not reported again
	// until it changes. A fetch that Close cancels is not a failure. It
	// must not block.
	OnError func(error)
	// Observer, when non-nil, receives observe.EventPolicyReload (Version
	// set) for every document put in force and
	// observe.EventPolicyReloadFailed (Err set) for every failure OnError
	// hears of, but cache writes. It must not block.
	Observer observe.EventObserver
}

// RemoteProvider serves the policies of a document fetched over HTTP and
// refreshed in the background. It is a SourceProvider whose source sends
// conditional GETs.
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
// refresh (or a 304) ends that. Close is not a failure: a fetch it
// cancels leaves the provider as healthy as it was.
//
// Before any document has loaded, a lookup joins the fetch in progress or
// starts one (one at a time however many callers miss, at most one per
// MissInterval) and waits for it at most ColdStartWait, within its
// context. If no document has arrived by then it gets a zero policy and an
// *UnavailableError, and the executor applies its MissingPolicyMode; the
// fetch goes on, bounded by Timeout.
//
// Policies carry Meta.Source policy.SourceRemote and Meta.Version set to
// the document's version. A RemoteProvider is safe for concurrent use; it
// owns a goroutine that Close stops.
type RemoteProvider struct {
	sp *SourceProvider
	// ownTransport is the transport made for a nil Client; Close closes
	// its idle connections.
	ownTransport *http.Transport
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
	src := &httpSource{
		url:       opts.URL,
		client:    opts.Client,
		authKey:   opts.AuthHeader,
		authValue: opts.AuthValue,
		timeout:   opts.Timeout,
		maxBytes:  opts.MaxBytes,
	}
	rp := &RemoteProvider{}
	if src.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = opts.TLSConfig
		src.client = &http.Client{Transport: t}
		rp.ownTransport = t
	}
	if src.authKey == "" {
		src.authKey = "Authorization"
	}
	if src.timeout <= 0 {
		src.timeout = DefaultRemoteTimeout
	}
	if src.maxBytes <= 0 {
		src.maxBytes = DefaultMaxBytes
	}
	rp.sp = NewSourceProvider(src, SourceOptions{
		Decode:        opts.Decode,
		PolicySource:  policy.SourceRemote,
		MaxBytes:      src.maxBytes,
		Interval:      opts.Interval,
		Jitter:        opts.Jitter,
		Rand:          opts.Rand,
		CacheFile:     opts.CacheFile,
		ColdStartWait: opts.ColdStartWait,
		MissInterval:  opts.MissInterval,
		Clock:         opts.Clock,
		OnError:       opts.OnError,
		Observer:      opts.Observer,
	})
	return rp, nil
}

// Refresh fetches the document now (or waits for the fetch in progress)
// and returns its error; ctx bounds only the wait. After Close it returns
// ErrClosed.
func (p *RemoteProvider) Refresh(ctx context.Context) error { return p.sp.Refresh(ctx) }

// GetEffectivePolicy returns the policy for key from the document in force.
// Once a document has loaded it never blocks. See RemoteProvider for the
// errors that may come with the policy.
func (p *RemoteProvider) GetEffectivePolicy(ctx context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	return p.sp.GetEffectivePolicy(ctx, key)
}

// GetEffectivePolicyRef is GetEffectivePolicy without the copy; see
// PolicyRefProvider.
func (p *RemoteProvider) GetEffectivePolicyRef(ctx context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	return p.sp.GetEffectivePolicyRef(ctx, key)
}

// Version returns the version of the document in force, or "" before the
// first load.
func (p *RemoteProvider) Version() string { return p.sp.Version() }

// Document returns the document in force, or nil. It must not be
// modified.
func (p *RemoteProvider) Document() *policy.Document { return p.sp.Document() }

// LastError returns why the last fetch failed, or nil when the document in
// force is confirmed by the server.
func (p *RemoteProvider) LastError() error { return p.sp.LastError() }

// Stats returns the provider's counters.
func (p *RemoteProvider) Stats() Stats { return p.sp.Stats() }

// Close stops the background refresh, cancels a fetch in progress and
// waits for every goroutine the provider started. Lookups keep working on
// the document in force, as healthy as it was. Close is idempotent and
// always returns nil.
func (p *RemoteProvider) Close() error {
	p.sp.Close()
	if p.ownTransport != nil {
		p.ownTransport.CloseIdleConnections()
	}
	return nil
}

// httpSource is one conditional GET per Fetch.
type httpSource struct {
	url       string
	client    *http.Client
	authKey   string
	authValue string
	timeout   time.Duration
	maxBytes  int64
}

func (s *httpSource) Name() string { return s.url }

func (s *httpSource) Fetch(ctx context.Context, known string) (Update, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Update{}, fmt.Errorf("controlplane: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if s.authValue != "" {
		req.Header.Set(s.authKey, s.authValue)
	}
	if known != "" {
		req.Header.Set("If-None-Match", known)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Update{}, fmt.Errorf("controlplane: fetch: %w", err)
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 4096)
		resp.Body.Close()
	}()
	switch resp.StatusCode {
	case http.StatusNotModified:
		if known == "" {
			return Update{}, fmt.Errorf("controlplane: fetch %s: 304 Not Modified without a document", s.url)
		}
		return Update{Unchanged: true, Revision: known}, nil
	case http.StatusOK:
	default:
		return Update{}, &StatusError{URL: s.url, Code: resp.StatusCode}
	}
	if resp.ContentLength > s.maxBytes {
		return Update{}, &TooLargeError{Source: s.url, Limit: s.maxBytes}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBytes+1))
	if err != nil {
		return Update{}, fmt.Errorf("controlplane: fetch %s: %w", s.url, err)
	}
	if int64(len(body)) > s.maxBytes {
		return Update{}, &TooLargeError{Source: s.url, Limit: s.maxBytes}
	}
	return Update{Body: body, Revision: resp.Header.Get("ETag")}, nil
}

// StatusError reports a response whose status is neither 200 nor 304.
type StatusError struct {
	URL  string
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("controlplane: fetch %s: unexpected status %d %s", e.URL, e.Code, http.StatusText(e.Code))
}
