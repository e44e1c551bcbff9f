package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/aponysus/rego/policy"
)

// GetEffectivePolicy returns the policy for key from the document in force.
// Once a document has loaded it never blocks; before that it waits at most
// ColdStartWait. See SourceProvider for the errors that may come with the
// policy.
func (p *SourceProvider) GetEffectivePolicy(ctx context.Context, key policy.PolicyKey) (policy.EffectivePolicy, error) {
	s := p.snap.Load()
	if s.doc == nil {
		s = p.miss(ctx)
	}
	return s.get(key)
}

// GetEffectivePolicyRef is GetEffectivePolicy without the copy; see
// PolicyRefProvider.
func (p *SourceProvider) GetEffectivePolicyRef(ctx context.Context, key policy.PolicyKey) (*policy.EffectivePolicy, error) {
	s := p.snap.Load()
	if s.doc == nil {
		s = p.miss(ctx)
	}
	return s.ref(key)
}

// miss serves a lookup before the first document: it waits, within ctx
// and ColdStartWait, for the fetch in progress, or starts one unless a
// lookup started one within MissInterval. It returns the latest snapshot.
func (p *SourceProvider) miss(ctx context.Context) *snapshot {
	if p.coldWait < 0 {
		return p.snap.Load()
	}
	f, ok := p.loads.startIf(p.fetch, ErrClosed, func() bool {
		now := p.clk.Now().UnixNano()
		if last := p.lastMiss.Load(); last != 0 && now-last < int64(p.missEvery) {
			return false
		}
		p.lastMiss.Store(now)
		return true
	})
	if ok {
		t := p.clk.NewTimer(p.coldWait)
		select {
		case <-f.done:
		case <-ctx.Done():
		case <-t.C():
		}
		t.Stop()
	}
	// Even without a wait, a load may have finished moments ago.
	return p.snap.Load()
}

// Version returns the version of the document in force, or "" before the
// first load.
func (p *SourceProvider) Version() string { return p.snap.Load().version() }

// Document returns the document in force, or nil. It must not be
// modified.
func (p *SourceProvider) Document() *policy.Document { return p.snap.Load().doc }

// LastError returns why the last load failed, or nil when the document in
// force is the source's current one. Before the first load it reports
// that no document has loaded yet.
func (p *SourceProvider) LastError() error { return p.snap.Load().cause }

// loadCache puts the cached document in force as last-known-good. It is
// not fresh until the source confirms it (same revision) or replaces it.
// A missing file is the normal first start; any other problem is reported.
func (p *SourceProvider) loadCache() {
	if p.cacheFile == "" {
		return
	}
	e, err := readCache(p.cacheFile, p.name, p.maxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.failLocked(err)
		return
	}
	doc, err := p.decode(e.Body)
	if err != nil {
		p.failLocked(fmt.Errorf("controlplane: cache %s: %w", p.cacheFile, err))
		return
	}
	doc.SetSource(p.psrc)
	p.rev = e.Revision
	cause := fmt.Errorf("controlplane: cached copy from %s, not yet confirmed by %s", e.SavedAt.UTC().Format(time.RFC3339), p.name)
	p.snap.Store(staleSnapshot(doc, p.name, cause))
	p.loadedLocked(doc, "cache")
}
