package controlplane_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
)

func TestStaticProvider(t *testing.T) {
	k := policy.ParseKey("user-service.GetUser")
	other := policy.ParseKey("other.Call")
	ctx := context.Background()

	p := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		k: {Retry: policy.RetryPolicy{MaxAttempts: 5}},
	}}
	got, err := p.GetEffectivePolicy(ctx, k)
	if err != nil || got.Retry.MaxAttempts != 5 || got.Key != k || got.Meta.Source != policy.SourceStatic || !got.Meta.Normalized {
		t.Fatalf("own policy: %+v %v", got, err)
	}
	got, err = p.GetEffectivePolicy(ctx, other)
	if err != nil || got.Retry.MaxAttempts != 3 || got.Key != other || got.Meta.Source != policy.SourceDefault {
		t.Fatalf("no default: %+v %v", got, err)
	}

	p = &controlplane.StaticProvider{Default: policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 2}}}
	got, err = p.GetEffectivePolicy(ctx, other)
	if err != nil || got.Retry.MaxAttempts != 2 || got.Key != other || got.Meta.Source != policy.SourceStatic {
		t.Fatalf("explicit default: %+v %v", got, err)
	}
}

func TestStaticProviderInvalidPolicy(t *testing.T) {
	k := policy.ParseKey("a.b")
	p := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		k: {Retry: policy.RetryPolicy{Jitter: "nope"}},
	}}
	got, err := p.GetEffectivePolicy(context.Background(), k)
	if !errors.Is(err, policy.ErrInvalidPolicy) || got.Meta.Source != "" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestStaticProviderConcurrentFirstUse(t *testing.T) {
	k := policy.ParseKey("a.b")
	p := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{k: {Retry: policy.RetryPolicy{MaxAttempts: 4}}}}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := p.GetEffectivePolicy(context.Background(), k)
			if err != nil || got.Retry.MaxAttempts != 4 {
				t.Errorf("%+v %v", got, err)
			}
		}()
	}
	wg.Wait()
}
