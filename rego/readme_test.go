package rego_test

// This file (with readme_gates_test.go) mirrors every snippet of the
// README that the core module can run, unchanged but for the
// surrounding function, so that the README keeps compiling and behaving
// as written.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/controlplane"
	"github.com/aponysus/rego/integrations/regohttp"
	"github.com/aponysus/rego/observe"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/rego"
	"github.com/aponysus/rego/retry"
)

type User struct{ ID string }

func TestReadmeQuickStart(t *testing.T) {
	ctx := context.Background()

	user, err := rego.DoValue[User](ctx, "user-service.GetUser", func(ctx context.Context) (User, error) {
		// call dependency here
		return User{ID: "123"}, nil
	})
	_ = user
	_ = err

	if err != nil || user.ID != "123" {
		t.Fatalf("user %+v err %v", user, err)
	}
}

func TestReadmeGettingATimeline(t *testing.T) {
	ctx := context.Background()
	calls := 0
	op := func(ctx context.Context) (User, error) {
		calls++
		if calls == 1 {
			return User{}, errors.New("transient")
		}
		return User{ID: "123"}, nil
	}
	rego.Init(retry.NewExecutor(retry.ExecutorOptions{Clock: noSleep{}}))
	defer rego.Init(nil)

	user, tl, err := rego.DoValueWithTimeline[User](ctx, "user-service.GetUser", op)
	_ = user
	_ = err

	for _, a := range tl.Attempts {
		// a.Attempt, a.StartTime, a.EndTime, a.Err, ...
		_ = a
	}

	if err != nil || user.ID != "123" || len(tl.Attempts) != 2 || tl.Attempts[0].Err == nil || tl.Attempts[1].Attempt != 1 {
		t.Fatalf("user %+v err %v timeline %+v", user, err, tl)
	}
	if tl.Attributes["policy_source"] != "default" {
		t.Fatalf("attributes %v", tl.Attributes)
	}
}

func TestReadmeAdvancedUsage(t *testing.T) {
	op := func(ctx context.Context) (User, error) { return User{ID: "42"}, nil }

	key := policy.ParseKey("user-service.GetUser")

	exec := retry.NewExecutor(retry.ExecutorOptions{
		Provider: &controlplane.StaticProvider{
			Policies: map[policy.PolicyKey]policy.EffectivePolicy{
				key: {
					Key: key,
					Retry: policy.RetryPolicy{
						MaxAttempts:       5,
						InitialBackoff:    25 * time.Millisecond,
						MaxBackoff:        250 * time.Millisecond,
						BackoffMultiplier: 2,
						TimeoutPerAttempt: 250 * time.Millisecond,
						OverallTimeout:    2 * time.Second,
						Jitter:            policy.JitterEqual,
					},
				},
			},
		},
	})

	user, tl, err := retry.DoValueWithTimeline[User](context.Background(), exec, key, op)
	_ = user
	_ = tl
	_ = err

	if err != nil || user.ID != "42" || tl.Attributes["policy_source"] != "static" {
		t.Fatalf("user %+v err %v attrs %v", user, err, tl.Attributes)
	}
}

func TestReadmeStaticPolicies(t *testing.T) {
	provider := &controlplane.StaticProvider{
		Default: policy.DefaultPolicyFor(policy.PolicyKey{}), // used for keys not in Policies
		Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			policy.ParseKey("user-service.GetUser"): {
				Retry: policy.RetryPolicy{MaxAttempts: 5},
			},
		},
	}

	exec := retry.NewExecutor(retry.ExecutorOptions{Provider: provider})

	p, err := provider.GetEffectivePolicy(context.Background(), policy.ParseKey("user-service.GetUser"))
	if err != nil || p.Retry.MaxAttempts != 5 {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = provider.GetEffectivePolicy(context.Background(), policy.ParseKey("other.Call"))
	if err != nil || p.Retry.MaxAttempts != 3 {
		t.Fatalf("%+v %v", p, err)
	}
	if err := exec.Do(context.Background(), policy.ParseKey("user-service.GetUser"), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestReadmeMissingPolicyModes(t *testing.T) {
	for _, m := range []retry.MissingPolicyMode{retry.FailureFallback, retry.FailureAllow, retry.FailureDeny} {
		_ = retry.NewExecutor(retry.ExecutorOptions{MissingPolicyMode: m})
	}
	var npe *retry.NoPolicyError
	_ = npe
	_ = retry.ErrNoPolicy
}

type loggingObserver struct{ observe.BaseObserver }

func (loggingObserver) OnAttempt(ctx context.Context, key policy.PolicyKey, rec observe.AttemptRecord) {
	info, _ := observe.AttemptFromContext(ctx)
	_ = info
	// log key, rec.Attempt, rec.Err, rec.Outcome, rec.EndTime.Sub(rec.StartTime), ...
}

func TestReadmeObservers(t *testing.T) {
	var obs observe.Observer = loggingObserver{}
	multi := observe.MultiObserver{Observers: []observe.Observer{obs, observe.NoopObserver{}}}
	exec := retry.NewExecutor(retry.ExecutorOptions{Observer: multi})
	err := exec.Do(context.Background(), rego.ParseKey("user-service.GetUser"), func(ctx context.Context) error {
		info, ok := observe.AttemptFromContext(ctx)
		if !ok || info.Attempt != 0 {
			t.Errorf("info %+v %v", info, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadmeBudgets(t *testing.T) {
	provider := &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
		policy.ParseKey("payments.Charge"): {Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "payments"}}},
	}}

	budgets := budget.NewRegistry()
	budgets.Register("payments", budget.NewTokenBucketBudget(20, 5)) // 20 extra attempts, refilled at 5/s

	exec := retry.NewExecutor(retry.ExecutorOptions{Budgets: budgets, Provider: provider})
	// policy: Retry: policy.RetryPolicy{Budget: policy.BudgetRef{Name: "payments"}}

	tl, err := exec.DoWithTimeline(context.Background(), policy.ParseKey("payments.Charge"), func(context.Context) error { return nil })
	if err != nil || tl.Attempts[0].BudgetReason != "first_attempt" {
		t.Fatalf("%v %+v", err, tl.Attempts)
	}
}

func TestReadmeHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	exec := retry.NewExecutor(retry.ExecutorOptions{})

	client := &http.Client{Transport: regohttp.NewTransport(regohttp.Options{
		Executor: exec,                             // nil: rego's default executor
		Key:      policy.ParseKey("payments.http"), // low-cardinality, never the URL
	})}
	resp, err := client.Get(srv.URL + "/v1/balance")

	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	client.CloseIdleConnections()
}
