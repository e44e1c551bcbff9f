package regoprom

import (
	"fmt"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/observe"
	"github.com/prometheus/client_golang/prometheus"
)

// budgetCollector reads the levels of the named budgets at scrape time.
type budgetCollector struct {
	reg       *budget.Registry
	names     []string
	clk       clock.Clock
	available *prometheus.Desc
	reject    *prometheus.Desc
}

func newBudgetCollector(ns string, opts Options) (*budgetCollector, error) {
	if len(opts.BudgetNames) == 0 {
		return nil, nil
	}
	if opts.Budgets == nil {
		return nil, fmt.Errorf("regoprom: Options.BudgetNames is set but Options.Budgets is nil")
	}
	for i, n := range opts.BudgetNames {
		if n == "" {
			return nil, fmt.Errorf("regoprom: Options.BudgetNames[%d] is empty", i)
		}
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &budgetCollector{
		reg: opts.Budgets, names: append([]string(nil), opts.BudgetNames...), clk: clk,
		available: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "budget_available"),
			"Attempt units a budget allows now: tokens left (token bucket) or retry units left in the window (ratio).",
			[]string{"budget", "type"}, nil),
		reject: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "budget_reject_probability"),
			"A throttle's probability of refusing an attempt now.",
			[]string{"budget"}, nil),
	}, nil
}

func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.available
	ch <- c.reject
}

// Collect reports each named budget the registry holds; a name it lacks,
// or a budget type that exports no level, is left out.
func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range observe.BudgetLevels(c.reg, c.names, c.clk.Now()) {
		switch l.Type {
		case "token_bucket", "ratio":
			ch <- prometheus.MustNewConstMetric(c.available, prometheus.GaugeValue, l.Available, l.Name, l.Type)
		case "throttle":
			ch <- prometheus.MustNewConstMetric(c.reject, prometheus.GaugeValue, l.RejectProbability, l.Name)
		}
	}
}
