package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/policy"
)

// A small control plane: a directory of documents served over HTTP, and a
// RemoteProvider that follows one of them, falling back to its
// last-known-good document when the server fails.
func ExampleNewHandler() {
	dir, _ := os.MkdirTemp("", "policies")
	defer os.RemoveAll(dir)
	write := func(data string) { _ = os.WriteFile(filepath.Join(dir, "payments.json"), []byte(data), 0o644) }
	write(`{"version": "v1", "policies": {"payments.Charge": {"retry": {"max_attempts": 4}}}}`)

	srv := httptest.NewServer(controlplane.NewHandler(controlplane.HandlerOptions{Dir: dir}))
	defer srv.Close()

	rp, err := controlplane.NewRemoteProvider(controlplane.RemoteOptions{
		URL:      srv.URL + "/payments",
		Interval: -1, // refreshed by hand here; in production leave zero (30s)
		// A lookup before the first document waits for it at most this
		// long (the default is 250ms); this example waits as long as it
		// takes.
		ColdStartWait: time.Hour,
	})
	if err != nil {
		panic(err)
	}
	defer rp.Close()

	ctx := context.Background()
	key := policy.ParseKey("payments.Charge")
	show := func() {
		p, err := rp.GetEffectivePolicy(ctx, key)
		fmt.Printf("version=%s source=%s attempts=%d stale=%v\n",
			p.Meta.Version, p.Meta.Source, p.Retry.MaxAttempts, errors.Is(err, controlplane.ErrProviderUnavailable))
	}

	show() // the first lookup waits for the first fetch

	write(`{"version": "v2", "policies": {"payments.Charge": {"retry": {"max_attempts": 6}}}}`)
	_ = rp.Refresh(ctx)
	show()

	// A bad edit on the server is refused there; clients keep v2.
	write(`{"version": "v3", "policies": {"payments.Charge": {"retry": {"jitter": "wobbly"}}}}`)
	err = rp.Refresh(ctx)
	fmt.Println(err != nil)
	show()
	// Output:
	// version=v1 source=remote attempts=4 stale=false
	// version=v2 source=remote attempts=6 stale=false
	// true
	// version=v2 source=lkg attempts=6 stale=true
}

func ExampleFileProvider() {
	dir, _ := os.MkdirTemp("", "policies")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "policies.json")
	_ = os.WriteFile(path, []byte(`{
		"version": "2024-06-01.1",
		"default": {"retry": {"max_attempts": 2}},
		"policies": {"payments.Charge": {"retry": {"max_attempts": 50}}}
	}`), 0o644)

	fp := controlplane.NewFileProvider(controlplane.FileOptions{Path: path})
	defer fp.Close()

	p, _ := fp.GetEffectivePolicy(context.Background(), policy.ParseKey("payments.Charge"))
	fmt.Println(fp.Version(), p.Meta.Source, p.Retry.MaxAttempts, p.Meta.ClampedFields)
	p, _ = fp.GetEffectivePolicy(context.Background(), policy.ParseKey("search.Query"))
	fmt.Println(p.Key, p.Retry.MaxAttempts)
	// Output:
	// 2024-06-01.1 file 10 [retry.max_attempts]
	// search.Query 2
}

// A program that must not run without its policies refuses to start.
func ExampleOpenFileProvider() {
	dir, _ := os.MkdirTemp("", "policies")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "policies.json")
	_ = os.WriteFile(path, []byte(`{"version": "v1", "policies": {"payments.Charge": {"retry": {"jitter": "wobbly"}}}}`), 0o644)

	fp, err := controlplane.OpenFileProvider(controlplane.FileOptions{Path: path})
	var de *policy.DocumentError
	fmt.Println(fp == nil, errors.As(err, &de), errors.Is(err, policy.ErrInvalidDocument))
	// Output:
	// true true true
}
