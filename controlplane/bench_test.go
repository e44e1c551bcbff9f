package controlplane_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
)

// The hot-path lookups: a remote or file provider with a loaded document
// must cost what a static provider costs, with no allocation.

func benchLookup(b *testing.B, pr controlplane.PolicyProvider) {
	ctx := context.Background()
	if _, err := pr.GetEffectivePolicy(ctx, charge); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, _ := pr.GetEffectivePolicy(ctx, charge)
		if p.Retry.MaxAttempts == 0 {
			b.Fatal("no policy")
		}
	}
}

func benchLookupParallel(b *testing.B, pr controlplane.PolicyProvider) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, _ := pr.GetEffectivePolicy(ctx, charge)
			if p.Retry.MaxAttempts == 0 {
				panic("no policy")
			}
		}
	})
}

func staticProvider() *controlplane.StaticProvider {
	return &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		charge: {Retry: policy.RetryPolicy{MaxAttempts: 4}},
	}}
}

func remoteProvider(b *testing.B) *controlplane.RemoteProvider {
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "p.json"), doc("v1", 4))
	srv := httptest.NewServer(controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir}))
	b.Cleanup(srv.Close)
	rp, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{URL: srv.URL + "/p", Interval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rp.Close() })
	if err := rp.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return rp
}

func fileProvider(b *testing.B) *controlplane.FileProvider {
	path := filepath.Join(b.TempDir(), "p.json")
	writeFile(b, path, doc("v1", 4))
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	b.Cleanup(func() { fp.Close() })
	return fp
}

func BenchmarkLookupStatic(b *testing.B) { benchLookup(b, staticProvider()) }
func BenchmarkLookupRemote(b *testing.B) { benchLookup(b, remoteProvider(b)) }
func BenchmarkLookupFile(b *testing.B)   { benchLookup(b, fileProvider(b)) }

// A last-known-good lookup (refresh failed) also returns an error; it is
// built with the snapshot, so the lookup still does not allocate. The
// provider is seeded from a cache file and its server is gone, so every
// lookup is served as last-known-good.
func BenchmarkLookupRemoteLKG(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "p.json"), doc("v1", 4))
	srv := httptest.NewServer(controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir}))
	cache := filepath.Join(dir, "cache")
	seed, _ := controlplane.NewRemoteProvider(controlplane.RemoteOptions{URL: srv.URL + "/p", Interval: -1, CacheFile: cache})
	if err := seed.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	seed.Close()
	srv.Close()
	lkg, _ := controlplane.NewRemoteProvider(controlplane.RemoteOptions{URL: srv.URL + "/p", Interval: -1, CacheFile: cache})
	b.Cleanup(func() { lkg.Close() })
	if p, err := lkg.GetEffectivePolicy(context.Background(), charge); err == nil || p.Meta.Source != policy.SourceLKG {
		b.Fatalf("not last-known-good: %v %v", p.Meta.Source, err)
	}
	benchLookupLKG(b, lkg)
}

func benchLookupLKG(b *testing.B, pr controlplane.PolicyProvider) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := pr.GetEffectivePolicy(ctx, charge)
		if err == nil || p.Retry.MaxAttempts == 0 {
			b.Fatal("no last-known-good policy")
		}
	}
}

func BenchmarkLookupStaticParallel(b *testing.B) { benchLookupParallel(b, staticProvider()) }
func BenchmarkLookupRemoteParallel(b *testing.B) { benchLookupParallel(b, remoteProvider(b)) }

func TestLookupDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.json"), doc("v1", 4))
	srv := httptest.NewServer(controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir}))
	defer srv.Close()
	rp, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{URL: srv.URL + "/p", Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	if err := rp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other := policy.ParseKey("other.Call")
	if n := testing.AllocsPerRun(1000, func() {
		rp.GetEffectivePolicy(ctx, charge)
		rp.GetEffectivePolicy(ctx, other)
	}); n != 0 {
		t.Fatalf("%v allocations per lookup", n)
	}
	srv.Close()
	if rp.Refresh(ctx) == nil {
		t.Fatal("refresh against a closed server succeeded")
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := rp.GetEffectivePolicy(ctx, charge); err == nil {
			panic("want an error")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per last-known-good lookup", n)
	}
}

// By reference, as the executor reads them: no copy of the policy.
func benchLookupRef(b *testing.B, pr controlplane.PolicyRefProvider) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, _ := pr.GetEffectivePolicyRef(ctx, charge)
		if p == nil || p.Retry.MaxAttempts == 0 {
			b.Fatal("no policy")
		}
	}
}

func BenchmarkLookupRefStatic(b *testing.B) { benchLookupRef(b, staticProvider()) }
func BenchmarkLookupRefRemote(b *testing.B) { benchLookupRef(b, remoteProvider(b)) }
func BenchmarkLookupRefFile(b *testing.B)   { benchLookupRef(b, fileProvider(b)) }

func TestRefMatchesValue(t *testing.T) {
	ctx := context.Background()
	for _, pr := range []controlplane.PolicyRefProvider{staticProvider(), &controlplane.StaticProvider{}} {
		for _, k := range []policy.PolicyKey{charge, policy.ParseKey("other.Key")} {
			v, verr := pr.GetEffectivePolicy(ctx, k)
			r, rerr := pr.GetEffectivePolicyRef(ctx, k)
			if r == nil || verr != rerr || v.Retry != r.Retry || v.Hedge != r.Hedge || v.Meta.Source != r.Meta.Source || v.Key != k {
				t.Fatalf("%v: value %+v/%v, ref %+v/%v", k, v, verr, r, rerr)
			}
		}
	}
}

// The seam itself, fed by a third-party source.
func sourceProvider(b *testing.B) *controlplane.SourceProvider {
	sp := controlplane.NewSourceProvider(newMemSource(doc("v1", 4)), controlplane.SourceOptions{Interval: -1})
	b.Cleanup(func() { sp.Close() })
	if err := sp.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return sp
}

func BenchmarkLookupSource(b *testing.B)         { benchLookup(b, sourceProvider(b)) }
func BenchmarkLookupRefSource(b *testing.B)      { benchLookupRef(b, sourceProvider(b)) }
func BenchmarkLookupSourceParallel(b *testing.B) { benchLookupParallel(b, sourceProvider(b)) }

// Every provider of the package, fresh and last-known-good, by value and
// by reference: no allocation.
func TestEveryProviderLookupDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.json")
	writeFile(t, path, doc("v1", 4))
	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	defer fp.Close()
	src := newMemSource(doc("v1", 4))
	sp := controlplane.NewSourceProvider(src, controlplane.SourceOptions{Interval: -1})
	defer sp.Close()
	if err := sp.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	providers := map[string]controlplane.PolicyRefProvider{"file": fp, "source": sp, "static": staticProvider()}
	check := func(stage string) {
		ctx := context.Background()
		for name, pr := range providers {
			if n := testing.AllocsPerRun(500, func() {
				pr.GetEffectivePolicy(ctx, charge)
				pr.GetEffectivePolicyRef(ctx, charge)
			}); n != 0 {
				t.Errorf("%s, %s: %v allocations per lookup", name, stage, n)
			}
		}
	}
	check("fresh")
	writeFile(t, path, `{`)
	src.fail(errors.New("down"))
	if fp.Reload() == nil || sp.Refresh(context.Background()) == nil {
		t.Fatal("failures not seen")
	}
	delete(providers, "static")
	check("last-known-good")
}
