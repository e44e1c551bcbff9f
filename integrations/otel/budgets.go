package regootel

import (
	"context"
	"fmt"

	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/observe"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Budget level instrument name suffixes and attribute keys.
const (
	SuffixBudgetAvailable         = ".budget.available"
	SuffixBudgetRejectProbability = ".budget.reject_probability"
	AttrBudget                    = attribute.Key("rego.budget")
	AttrBudgetType                = attribute.Key("rego.budget.type")
)

// checkBudgetOptions rejects budget names without a registry.
func checkBudgetOptions(opts Options) error {
	if len(opts.BudgetNames) == 0 {
		return nil
	}
	if opts.Budgets == nil {
		return fmt.Errorf("regootel: Options.BudgetNames is set but Options.Budgets is nil")
	}
	for i, n := range opts.BudgetNames {
		if n == "" {
			return fmt.Errorf("regootel: Options.BudgetNames[%d] is empty", i)
		}
	}
	return nil
}

// newBudgetGauges registers observable gauges that read the named
// budgets' levels at collection time.
func newBudgetGauges(m metric.Meter, prefix string, opts Options) error {
	if len(opts.BudgetNames) == 0 {
		return nil
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	names := append([]string(nil), opts.BudgetNames...)
	avail, err := m.Float64ObservableGauge(prefix+SuffixBudgetAvailable,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempt units a budget allows now: tokens left (token bucket) or retry units left in the window (ratio)."))
	if err != nil {
		return err
	}
	reject, err := m.Float64ObservableGauge(prefix+SuffixBudgetRejectProbability,
		metric.WithUnit("1"),
		metric.WithDescription("A throttle's probability of refusing an attempt now."))
	if err != nil {
		return err
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, l := range observe.BudgetLevels(opts.Budgets, names, clk.Now()) {
			switch l.Type {
			case "token_bucket", "ratio":
				o.ObserveFloat64(avail, l.Available, metric.WithAttributes(AttrBudget.String(l.Name), AttrBudgetType.String(l.Type)))
			case "throttle":
				o.ObserveFloat64(reject, l.RejectProbability, metric.WithAttributes(AttrBudget.String(l.Name)))
			}
		}
		return nil
	}, avail, reject)
	return err
}
