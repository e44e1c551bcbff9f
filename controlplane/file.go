package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/observe"
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
	// OnError, when non-nil, is called with every failed load (the first
	// one included), for logging. A file rejected once is not reported
	// again until its content changes. It must not block.
	OnError func(error)
	// Observer, when non-nil, receives observe.EventPolicyReload (Version
	// set) for every document put in force and
	// observe.EventPolicyReloadFailed (Err set) for every failed load,
	// from the goroutine that loaded. It must not block.
	Observer observe.EventObserver
}

// FileProvider serves the policies of a document on the local file system
// and reloads it when it changes. It is a SourceProvider reading a file.
//
// The document is loaded once by NewFileProvider and then on every poll
// whose file content differs from the last one put in force. A load that
// fails (the file is missing, unreadable, too large or invalid) leaves the
// previous good document in force: lookups then return its policies with
// Meta.Source policy.SourceLKG together with a *StaleError that says why,
// so the failure shows in every timeline until the file is fixed. Before
// any document has loaded, lookups return a zero policy and an
// *UnavailableError at once, and the executor applies its
// MissingPolicyMode: to refuse to start without a document instead, use
// OpenFileProvider.
//
// Policies carry Meta.Source policy.SourceFile and Meta.Version set to the
// document's version. Lookups read an immutable snapshot through an atomic
// pointer: they take no lock and do not allocate.
//
// A FileProvider is safe for concurrent use. Close stops its polling.
type FileProvider struct {
	sp *SourceProvider
}

// NewFileProvider loads the document at opts.Path and, unless
// opts.Interval is negative, starts polling it. A first load that fails
// does not stop the provider, but it is loud: it goes to opts.OnError and
// opts.Observer, or, when neither is set, to the default slog logger as a
// warning; LastError reports it, and lookups return *UnavailableError
// until a later poll succeeds. NewFileProvider panics if opts.Path is
// empty.
func NewFileProvider(opts FileOptions) *FileProvider {
	if opts.Path == "" {
		panic("controlplane: FileOptions.Path is empty")
	}
	fp, err := openFile(opts)
	if err != nil && opts.OnError == nil && opts.Observer == nil {
		slog.Default().Warn("controlplane: no policy document loaded; lookups fail until the file is fixed and the executor applies its MissingPolicyMode",
			slog.String("path", opts.Path), slog.String("error", err.Error()))
	}
	return fp
}

// OpenFileProvider is NewFileProvider for programs that must not run
// without their policies: when the first document cannot be loaded (the
// file is missing, unreadable, too large or invalid) it returns nil and an
// error that wraps the cause (an fs error, a *TooLargeError, or a
// *policy.DocumentError under errors.As), and starts nothing. An empty
// opts.Path is an error too. Once open, the provider behaves as
// NewFileProvider's: later failures keep the last good document.
func OpenFileProvider(opts FileOptions) (*FileProvider, error) {
	if opts.Path == "" {
		return nil, errors.New("controlplane: FileOptions.Path is empty")
	}
	fp, err := openFile(opts)
	if err != nil {
		fp.Close()
		return nil, fmt.Errorf("controlplane: first policy document: %w", err)
	}
	return fp, nil
}

// openFile makes the provider and loads the first document before the
// polls start.
func openFile(opts FileOptions) (*FileProvider, error) {
	interval := opts.Interval
	if interval == 0 {
		interval = DefaultFileInterval
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	src := &fileSource{path: opts.Path, maxBytes: maxBytes}
	fp := &FileProvider{sp: newSourceProvider(src, SourceOptions{
		Decode:        opts.Decode,
		PolicySource:  policy.SourceFile,
		MaxBytes:      maxBytes,
		Interval:      interval,
		Jitter:        -1,
		ColdStartWait: -1, // the first load is done before any lookup
		Clock:         opts.Clock,
		OnError:       opts.OnError,
		Observer:      opts.Observer,
	})}
	err := fp.Reload()
	fp.sp.start(true)
	return fp, err
}

// Reload reads the file now and, when its content differs from the
// document in force, decodes it and puts it in force. It returns the error
// of the document now in question: nil when the file holds a good
// document, the load error otherwise (the same as LastError). After Close
// it returns ErrClosed.
func (p *FileProvider) Reload() error {
	err := p.sp.Refresh(context.Background())
	if err == nil {
		// An unchanged file that was rejected before is still rejected.
		err = p.sp.LastError()
	}
	return err
}

// GetEffectivePolicy returns the policy for key from the document in force.
// See FileProvider for the errors that may come with it.
func (p *FileProvider) GetEffectivePolicy(ctx context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	return p.sp.GetEffectivePolicy(ctx, key)
}

// GetEffectivePolicyRef is GetEffectivePolicy without the copy; see
// PolicyRefProvider.
func (p *FileProvider) GetEffectivePolicyRef(ctx context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	return p.sp.GetEffectivePolicyRef(ctx, key)
}

// Version returns the version of the document in force, or "" before the
// first good load.
func (p *FileProvider) Version() string { return p.sp.Version() }

// Document returns the document in force, or nil. It must not be
// modified.
func (p *FileProvider) Document() *policy.Document { return p.sp.Document() }

// LastError returns why the last load failed, or nil when the document in
// force is the file's current content.
func (p *FileProvider) LastError() error { return p.sp.LastError() }

// Stats returns the provider's counters.
func (p *FileProvider) Stats() Stats { return p.sp.Stats() }

// Close stops polling and waits for the poller to exit. Lookups keep
// working on the document in force. Close is idempotent and always returns
// nil.
func (p *FileProvider) Close() error { return p.sp.Close() }

// fileSource reads a document from a file; its revision is a hash of the
// content, so an unchanged file is not decoded again.
type fileSource struct {
	path     string
	maxBytes int64
}

func (s *fileSource) Name() string { return s.path }

func (s *fileSource) Fetch(_ context.Context, _ string) (Update, error) {
	raw, err := readLimited(s.path, s.maxBytes)
	if err != nil {
		return Update{}, err
	}
	sum := sha256.Sum256(raw)
	return Update{Body: raw, Revision: hex.EncodeToString(sum[:])}, nil
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
