package regoetcd_test

import (
	"context"
	"testing"

	"github.com/aponysus/rego/controlplane"
	regoetcd "github.com/aponysus/rego/integrations/etcd"
)

// etcdProvider is a provider on a real embedded etcd that has loaded a
// document.
func etcdProvider(b *testing.B) *controlplane.SourceProvider {
	srv := startServer(b)
	cli := srv.newClient()
	put(b, cli, "/rego/bench", doc("v1", 4))
	p, err := regoetcd.NewProvider(regoetcd.Options{Client: cli, Key: "/rego/bench"}, controlplane.SourceOptions{Interval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	if err := p.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	return p
}

// Lookups on the etcd source cost what they cost on any provider: the
// watch runs beside them, never in their way, and they do not allocate.
func BenchmarkLookupEtcd(b *testing.B) {
	p := etcdProvider(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pol, _ := p.GetEffectivePolicyRef(ctx, charge)
		if pol == nil || pol.Retry.MaxAttempts != 4 {
			b.Fatal("no policy")
		}
	}
}
