package regoetcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/controlplane"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults for Options.
const (
	DefaultTimeout      = 5 * time.Second
	DefaultMinRetryWait = 500 * time.Millisecond
	DefaultMaxRetryWait = 30 * time.Second
)

// ErrNoDocument is wrapped by the error reported when the key holds no
// value: it was never written, or it was deleted.
var ErrNoDocument = errors.New("regoetcd: no document at the key")

// Options configures a Source. Client and Key are required.
type Options struct {
	// Client is the etcd client. The Source uses it and does not close it.
	Client *clientv3.Client
	// Key is the etcd key whose value is the policy document.
	Key string
	// Timeout bounds each read of the key. Zero means DefaultTimeout.
	Timeout time.Duration
	// MinRetryWait is the wait before Watch tries again after a failure;
	// it doubles with each failure in a row up to MaxRetryWait. Zero means
	// DefaultMinRetryWait.
	MinRetryWait time.Duration
	// MaxRetryWait caps the wait between tries. Zero means
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Clock times the waits between tries. Nil means clock.Real.
	Clock clock.Clock
}

// Source reads a policy document from one etcd key and watches it. It is
// a controlplane.Watcher; see the package doc. Its Revision is the key's
// modification revision. A Source is safe for concurrent use.
type Source struct {
	cli     *clientv3.Client
	key     string
	timeout time.Duration
	minWait time.Duration
	maxWait time.Duration
	clk     clock.Clock

	// beforeWatch, when set (by tests), runs between a read and the watch
	// that follows it.
	beforeWatch func(rev int64)
}

// NewSource validates opts and returns a Source.
func NewSource(opts Options) (*Source, error) {
	if opts.Client == nil {
		return nil, errors.New("regoetcd: Options.Client is nil")
	}
	if opts.Key == "" {
		return nil, errors.New("regoetcd: Options.Key is empty")
	}
	s := &Source{cli: opts.Client, key: opts.Key, timeout: opts.Timeout, minWait: opts.MinRetryWait, maxWait: opts.MaxRetryWait, clk: opts.Clock}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.minWait <= 0 {
		s.minWait = DefaultMinRetryWait
	}
	if s.maxWait <= 0 {
		s.maxWait = DefaultMaxRetryWait
	}
	if s.maxWait < s.minWait {
		s.maxWait = s.minWait
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	return s, nil
}

// NewProvider returns a controlplane.SourceProvider fed by a Source made
// from opts. Close the provider before the client.
func NewProvider(opts Options, sp controlplane.SourceOptions) (*controlplane.SourceProvider, error) {
	s, err := NewSource(opts)
	if err != nil {
		return nil, err
	}
	return controlplane.NewSourceProvider(s, sp), nil
}

// Name returns "etcd:" and the key.
func (s *Source) Name() string { return "etcd:" + s.key }

// Fetch reads the key now.
func (s *Source) Fetch(ctx context.Context, known string) (controlplane.Update, error) {
	u, _, err := s.read(ctx)
	if err == nil && known != "" && u.Revision == known {
		return controlplane.Update{Unchanged: true, Revision: known}, nil
	}
	return u, err
}

// read gets the key, and the store's revision at that read, from which a
// watch takes over.
func (s *Source) read(ctx context.Context) (controlplane.Update, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, s.key)
	if err != nil {
		return controlplane.Update{}, 0, fmt.Errorf("regoetcd: get %s: %w", s.key, err)
	}
	if len(resp.Kvs) == 0 {
		return controlplane.Update{}, resp.Header.Revision, fmt.Errorf("%w %s", ErrNoDocument, s.key)
	}
	kv := resp.Kvs[0]
	return controlplane.Update{Body: kv.Value, Revision: strconv.FormatInt(kv.ModRevision, 10)}, resp.Header.Revision, nil
}

// errCompacted ends a watch whose next revision has been compacted away.
var errCompacted = errors.New("regoetcd: watch revision compacted")

// Watch reads the key, then watches it, until ctx ends. See the package
// doc.
func (s *Source) Watch(ctx context.Context, sink controlplane.Sink) {
	wait := s.minWait
	for ctx.Err() == nil {
		err := s.readAndWatch(ctx, sink)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errCompacted) {
			// Normal operation: read again at once, then watch from there.
			wait = s.minWait
			continue
		}
		if err != nil {
			sink.ReportError(err)
		}
		t := s.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		wait = min(2*wait, s.maxWait)
	}
}

// readAndWatch delivers the key's value, then every change of it, until
// the watch fails.
func (s *Source) readAndWatch(ctx context.Context, sink controlplane.Sink) error {
	u, rev, err := s.read(ctx)
	switch {
	case errors.Is(err, ErrNoDocument):
		sink.ReportError(err) // and watch for the key to be written
	case err != nil:
		return err
	default:
		sink.Update(u) // a rejected document is the provider's to record
	}
	if s.beforeWatch != nil {
		s.beforeWatch(rev)
	}
	// WithRequireLeader ends the watch when the member loses its leader,
	// instead of leaving it silent on a partitioned member.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, s.key, clientv3.WithRev(rev+1)) {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return errCompacted
		}
		if err := resp.Err(); err != nil {
			return fmt.Errorf("regoetcd: watch %s: %w", s.key, err)
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				sink.ReportError(fmt.Errorf("%w %s: deleted at revision %d", ErrNoDocument, s.key, ev.Kv.ModRevision))
				continue
			}
			sink.Update(controlplane.Update{Body: ev.Kv.Value, Revision: strconv.FormatInt(ev.Kv.ModRevision, 10)})
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("regoetcd: watch %s: closed", s.key)
}
