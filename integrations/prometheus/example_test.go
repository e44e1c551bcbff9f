package regoprom_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aponysus/rego/controlplane"
	regoprom "github.com/aponysus/rego/integrations/prometheus"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/regotest"
	"github.com/aponysus/rego/retry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func ExampleNewObserver() {
	reg := prometheus.NewRegistry() // nil would mean prometheus.DefaultRegisterer
	obs, err := regoprom.NewObserver(regoprom.Options{Registerer: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	key := policy.ParseKey("inventory.Reserve")
	exec := retry.NewExecutor(retry.ExecutorOptions{
		Observer: obs,
		Provider: &controlplane.StaticProvider{Policies: map[policy.PolicyKey]policy.EffectivePolicy{
			key: {Retry: policy.RetryPolicy{MaxAttempts: 3}},
		}},
		Clock: regotest.NewAutoClock(time.Time{}),
	})
	calls := 0
	_ = exec.Do(context.Background(), key, func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return errors.New("unavailable")
		}
		return nil
	})
	n, _ := testutil.GatherAndCount(reg, "rego_attempts_total")
	fmt.Println("attempt series:", n)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "rego_attempts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			fmt.Print(" ")
			for _, lp := range m.GetLabel() {
				fmt.Printf(" %s=%s", lp.GetName(), lp.GetValue())
			}
			fmt.Println(" ->", m.GetCounter().GetValue())
		}
	}
	// Output:
	// attempt series: 2
	//   key=inventory.Reserve kind=first outcome=retryable -> 1
	//   key=inventory.Reserve kind=retry outcome=success -> 1
}
