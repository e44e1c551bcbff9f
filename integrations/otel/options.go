package regootel

import (
	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// DefaultPrefix starts instrument names and span names when
// Options.Prefix is empty.
const DefaultPrefix = "rego"

// Options configures New. The zero value reports to the global providers
// under the "rego" prefix.
type Options struct {
	// TracerProvider creates the tracer of the call spans. If nil,
	// otel.GetTracerProvider() at the time New is called.
	TracerProvider trace.TracerProvider
	// MeterProvider creates the meter of the instruments. If nil,
	// otel.GetMeterProvider() at the time New is called.
	MeterProvider metric.MeterProvider
	// Prefix starts every instrument name ("rego.attempts") and span
	// name ("rego inventory.Reserve"). If empty, DefaultPrefix.
	Prefix string
	// DisableTraces turns the call spans off, leaving only metrics.
	DisableTraces bool
	// DisableMetrics turns the instruments off, leaving only traces.
	DisableMetrics bool
	// Budgets and BudgetNames export the levels of the named budgets of
	// the executor's registry, read at collection time
	// (budget.available, budget.reject_probability). If BudgetNames is
	// empty, no budget level is exported; BudgetNames without Budgets is
	// an error.
	Budgets     *budget.Registry
	BudgetNames []string
	// Clock reads "now" for budget levels; it must be the budgets' clock.
	// If nil, clock.Real.
	Clock clock.Clock
}
