package inspect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/circuit"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/inspect"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/observe/slogobs"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/retry"
)

// The wiring of docs/operating.md: a file provider, budgets and breakers
// shared by the executor and the page, the slog observer and the page
// combined with MultiObserver.
func Example() {
	dir, _ := os.MkdirTemp("", "inspect-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "policies.json")
	_ = os.WriteFile(path, []byte(`{"version": "2026-03-01", "policies": {"payments.Charge": {"retry": {"max_attempts": 2, "budget": {"name": "retries"}}}}}`), 0o644)

	budgets := budget.NewRegistry()
	budgets.Register("retries", budget.NewTokenBucketBudget(20, 5))
	breakers := circuit.NewRegistry()
	provider := controlplane.NewFileProvider(controlplane.FileOptions{Path: path, Interval: -1})
	defer provider.Close()

	insp := inspect.New(inspect.Options{Provider: provider, Budgets: budgets, Breakers: breakers})
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: provider,
		Budgets:  budgets,
		Breakers: breakers,
		Observer: observe.MultiObserver{Observers: []observe.Observer{
			slogobs.New(slogobs.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))}),
			insp,
		}},
	})
	_ = exec.Do(context.Background(), policy.ParseKey("payments.Charge"), func(context.Context) error { return nil })

	mux := http.NewServeMux()
	mux.Handle("/debug/rego", insp)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/rego?format=json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var s inspect.Snapshot
	_ = json.NewDecoder(resp.Body).Decode(&s)
	k := s.Keys[0]
	fmt.Println("document version:", s.PolicyVersion)
	fmt.Println(k.Key, "source:", k.Policy.Source, "version:", k.Policy.Version, "calls:", k.Counts.Calls)
	fmt.Println("budget", s.Budgets[0].Name, "level:", s.Budgets[0].Level)
	// Output:
	// document version: 2026-03-01
	// payments.Charge source: file version: 2026-03-01 calls: 1
	// budget retries level: 20 tokens
}
