package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
)

// kvSource reads a policy document from a key-value store: here a map,
// in a real program a client of your configuration store.
type kvSource struct {
	mu    sync.Mutex
	store map[string]string
	revs  map[string]int
	key   string
}

func (s *kvSource) Name() string { return "kv:" + s.key }

// Fetch returns the document and its revision, or why it cannot.
func (s *kvSource) Fetch(ctx context.Context, known string) (controlplane.Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, ok := s.store[s.key]
	if !ok {
		return controlplane.Update{}, errors.New("kv: no such key " + s.key)
	}
	rev := strconv.Itoa(s.revs[s.key])
	if rev == known {
		return controlplane.Update{Unchanged: true, Revision: rev}, nil
	}
	return controlplane.Update{Body: []byte(body), Revision: rev}, nil
}

func (s *kvSource) put(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store[s.key] = value
	s.revs[s.key]++
}

func (s *kvSource) del() {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.store, s.key)
}

// A source of your own behind the same provider as the built-in ones:
// snapshots, last-known-good, counters and errors come with it.
func ExampleNewSourceProvider() {
	src := &kvSource{store: map[string]string{}, revs: map[string]int{}, key: "rego/payments"}
	src.put(`{"version": "v1", "policies": {"payments.Charge": {"retry": {"max_attempts": 3}}}}`)

	p := controlplane.NewSourceProvider(src, controlplane.SourceOptions{
		Interval: -1, // fetched by hand here; zero polls every 30s
	})
	defer p.Close()

	ctx := context.Background()
	key := policy.ParseKey("payments.Charge")
	show := func() {
		pol, err := p.GetEffectivePolicy(ctx, key)
		fmt.Printf("version=%s source=%s attempts=%d stale=%v\n",
			pol.Meta.Version, pol.Meta.Source, pol.Retry.MaxAttempts, errors.Is(err, controlplane.ErrProviderUnavailable))
	}

	_ = p.Refresh(ctx)
	show()
	src.put(`{"version": "v2", "policies": {"payments.Charge": {"retry": {"max_attempts": 5}}}}`)
	_ = p.Refresh(ctx)
	show()
	src.del() // the store loses the key: v2 stays, as last-known-good
	fmt.Println(p.Refresh(ctx))
	show()
	fmt.Printf("%+v\n", p.Stats().Loads)
	// Output:
	// version=v1 source=remote attempts=3 stale=false
	// version=v2 source=remote attempts=5 stale=false
	// kv: no such key rego/payments
	// version=v2 source=lkg attempts=5 stale=true
	// 2
}
