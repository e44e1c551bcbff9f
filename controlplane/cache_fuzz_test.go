package controlplane_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aponysus/rego/controlplane"
)

// Whatever a cache file holds, a provider starts: it uses the cached
// document, as last-known-good, or reports why it cannot; it never panics
// and never serves a document as fresh before the source confirms it.
func FuzzCacheFile(f *testing.F) {
	f.Add([]byte(`{"url":"mem:policies","etag":"1","saved_at":"2024-01-01T00:00:00Z","body":"eyJ2ZXJzaW9uIjoidjEifQ=="}`))
	f.Add([]byte(`{"url":"mem:policies","body":"e30="}`))
	f.Add([]byte(`{"url":"elsewhere","body":"e30="}`))
	f.Add([]byte(`{not json`))
	f.Add([]byte(``))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cache := filepath.Join(dir, "cache")
		if err := os.WriteFile(cache, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src := newMemSource(doc("v1", 4))
		src.fail(errors.New("down"))
		sp := controlplane.NewSourceProvider(src, controlplane.SourceOptions{Interval: -1, ColdStartWait: -1, CacheFile: cache})
		defer sp.Close()
		p, err := sp.GetEffectivePolicy(context.Background(), charge)
		if err == nil || sp.LastError() == nil {
			t.Fatalf("a cached document served as fresh: %+v", p)
		}
		if sp.Document() == nil && !errors.Is(err, controlplane.ErrProviderUnavailable) {
			t.Fatalf("no document, error %v", err)
		}
	})
}
