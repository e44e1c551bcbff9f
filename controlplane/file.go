package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
)

// Defaults for FileOptions and RemoteOptions.
const (
	DefaultFileInterval = 5 * time.Second
	DefaultMaxBytes     = 4 << 20
)

// DecodeFunc turns the bytes of a policy document into a normalised
// Document. policy.DecodeDocument (JSON) is the default; the YAML decoder in
// integrations/yaml has the same signature.
type DecodeFunc func([]byte) (*policy.Document, error)

// FileOptions configures a FileProvider.
type FileOptions struct {
	// Path is the document's file. Required. It is opened afresh on every
	// read, following symlinks, so both an atomic rename over the file and
	// a Kubernetes ConfigMap update (which swaps the "..data" symlink of
	// the mount) are picked up.
	Path string
	// Interval is the time between polls. Zero means
	// DefaultFileInterval. A negative interval starts no goroutine: the
	// document is then reloaded only by Reload.
	Interval time.Duration
	// Clock times the polls. Nil means clock.Real.
	Clock clock.Clock
	// Decode parses the file. Nil means policy.DecodeDocument (JSON).
	Decode DecodeFunc
	// MaxBytes bounds the file's size; a larger file is rejected. Zero
	// means DefaultMaxBytes.
	MaxBytes int64
}

// FileProvider serves the policies of a document on the local file system
// and reloads it when it changes.
//
// The document is loaded once by NewFileProvider and then on every poll
// whose file content differs from the last one read. A load that fails (the
// file is missing, unreadable, too large or invalid) leaves the previous
// good document in force: lookups then return its policies with
// Meta.Source policy.SourceLKG together with a *StaleError that says why,
// so the failure shows in every timeline until the file is fixed. Before
// any document has loaded, lookups return a zero policy and an
// *UnavailableError, and the executor applies its MissingPolicyMode.
//
// Policies carry Meta.Source policy.SourceFile and Meta.Version set to the
// document's version. Lookups read an immutable snapshot through an atomic
// pointer: they take no lock and do not allocate.
//
// A FileProvider is safe for concurrent use. Close stops its polling.
type FileProvider struct {
	path     string
	decode   DecodeFunc
	maxBytes int64
	clk      clock.Clock
	interval time.Duration

	snap atomic.Pointer[snapshot]

	// reloadMu serialises loads; lastRaw is the content of the last read,
	// so an unchanged file is not decoded again.
	reloadMu sync.Mutex
	lastRaw  []byte
	readOnce bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// NewFileProvider loads the document at opts.Path and, unless
// opts.Interval is negative, starts polling it. A first load that fails
// does not stop the provider: LastError reports it, lookups return
// *UnavailableError until a later poll succeeds. NewFileProvider panics if
// opts.Path is empty.
func NewFileProvider(opts FileOptions) *FileProvider {
	if opts.Path == "" {
		panic("controlplane: FileOptions.Path is empty")
	}
	p := &FileProvider{
		path:     opts.Path,
		decode:   opts.Decode,
		maxBytes: opts.MaxBytes,
		clk:      opts.Clock,
		interval: opts.Interval,
	}
	if p.decode == nil {
		p.decode = policy.DecodeDocument
	}
	if p.maxBytes <= 0 {
		p.maxBytes = DefaultMaxBytes
	}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
	if p.interval == 0 {
		p.interval = DefaultFileInterval
	}
	p.snap.Store(emptySnapshot(p.path))
	_ = p.Reload()
	if p.interval > 0 {
		p.stop = make(chan struct{})
		p.done = make(chan struct{})
		go p.poll()
	}
	return p
}

func (p *FileProvider) poll() {
	defer close(p.done)
	for {
		t := p.clk.NewTimer(p.interval)
		select {
		case <-p.stop:
			t.Stop()
			return
		case <-t.C():
		}
		_ = p.Reload()
	}
}

// Reload reads the file now and, when its content changed since the last
// read, decodes it and puts it in force. It returns the error of the
// document now in question: nil when the file holds a good document, the
// load error otherwise (the same as LastError).
func (p *FileProvider) Reload() error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	raw, err := readLimited(p.path, p.maxBytes)
	if err != nil {
		// Forget the last content so the file is decoded again once it is
		// readable, even if it comes back unchanged.
		p.lastRaw, p.readOnce = nil, false
		p.snap.Store(failedSnapshot(p.snap.Load(), p.path, err))
		return err
	}
	if p.readOnce && bytes.Equal(raw, p.lastRaw) {
		return p.snap.Load().cause
	}
	p.lastRaw, p.readOnce = raw, true
	doc, err := p.decode(raw)
	if err != nil {
		p.snap.Store(failedSnapshot(p.snap.Load(), p.path, err))
		return err
	}
	doc.SetSource(policy.SourceFile)
	p.snap.Store(freshSnapshot(doc))
	return nil
}

func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("controlplane: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("controlplane: read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Source: path, Limit: max}
	}
	return b, nil
}

// GetEffectivePolicy returns the policy for key from the document in force.
// See FileProvider for the errors that may come with it.
func (p *FileProvider) GetEffectivePolicy(_ context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	return p.snap.Load().get(key)
}

// GetEffectivePolicyRef is GetEffectivePolicy without the copy; see
// PolicyRefProvider.
func (p *FileProvider) GetEffectivePolicyRef(_ context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	return p.snap.Load().ref(key)
}

// Version returns the version of the document in force, or "" before the
// first good load.
func (p *FileProvider) Version() string { return p.snap.Load().version() }

// Document returns the document in force, or nil. It must not be
// modified.
func (p *FileProvider) Document() *policy.Document { return p.snap.Load().doc }

// LastError returns why the last load failed, or nil when the document in
// force is the file's current content.
func (p *FileProvider) LastError() error { return p.snap.Load().cause }

// Close stops polling and waits for the poller to exit. Lookups keep
// working on the document in force. Close is idempotent and always returns
// nil.
func (p *FileProvider) Close() error {
	p.closeOnce.Do(func() {
		if p.stop != nil {
			close(p.stop)
			<-p.done
		}
	})
	return nil
}

// TooLargeError reports a document larger than the configured limit.
type TooLargeError struct {
	// Source is the file path or URL.
	Source string
	// Limit is the configured maximum size in bytes.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("controlplane: %s: document larger than %d bytes", e.Source, e.Limit)
}
