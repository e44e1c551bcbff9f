package regoredis_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aponysus/rego/budget"

	regoredis "github.com/aponysus/rego/integrations/redis"
)

// Bad options are refused with an error that names the field.
func TestOptionsErrors(t *testing.T) {
	good := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer good.Close()
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	o := regoredis.Options{Client: good, Name: "n"}
	with := func(f func(*regoredis.Options)) regoredis.Options { c := o; f(&c); return c }
	for _, tc := range []struct {
		field string
		b     *regoredis.BudgetOptions
		l     *regoredis.LimiterOptions
	}{
		{"Options.Client is required", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.Client = nil })}, nil},
		{"ContextTimeoutEnabled", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.Client = plain })}, nil},
		{"Options.Name", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.Name = "" })}, nil},
		{"Options.Timeout", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.Timeout = -1 })}, nil},
		{"Options.Timeout", nil, &regoredis.LimiterOptions{Options: with(func(o *regoredis.Options) { o.Timeout = 2 * time.Second }), Rate: 1}},
		{"Options.Fallback", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.Fallback = 9 })}, nil},
		{"Options.FailureThreshold", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.FailureThreshold = -1 })}, nil},
		{"Options.Cooldown", &regoredis.BudgetOptions{Options: with(func(o *regoredis.Options) { o.Cooldown = -time.Second })}, nil},
		{"Ratio.Buckets", &regoredis.BudgetOptions{Options: o, Ratio: budget.RatioOptions{Buckets: 101}}, nil},
		{"RatioOptions.Ratio", &regoredis.BudgetOptions{Options: o, Ratio: budget.RatioOptions{Ratio: 2000}}, nil},
		{"Window / Buckets", &regoredis.BudgetOptions{Options: o, Ratio: budget.RatioOptions{Window: 1500 * time.Nanosecond, Buckets: 1}}, nil},
		{"LimiterOptions.Rate", nil, &regoredis.LimiterOptions{Options: o}},
		{"LimiterOptions.Rate", nil, &regoredis.LimiterOptions{Options: o, Rate: 2e6}},
		{"LimiterOptions.Burst", nil, &regoredis.LimiterOptions{Options: o, Rate: 1, Burst: -1}},
		{"LimiterOptions.LocalRate", nil, &regoredis.LimiterOptions{Options: o, Rate: 1, LocalRate: -1}},
		{"LimiterOptions.LocalBurst", nil, &regoredis.LimiterOptions{Options: o, Rate: 1, LocalBurst: -1}},
	} {
		var err error
		if tc.b != nil {
			_, err = regoredis.NewFleetBudget(*tc.b)
		} else {
			_, err = regoredis.NewFleetLimiter(*tc.l)
		}
		if !errors.Is(err, regoredis.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.field) || !strings.HasPrefix(err.Error(), "regoredis: ") {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
	if _, err := regoredis.NewFleetBudget(regoredis.BudgetOptions{Options: o}); err != nil {
		t.Fatalf("good options: %v", err)
	}
}
