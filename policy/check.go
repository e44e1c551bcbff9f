package policy

import (
	"sort"
	"strconv"
	"strings"

	"github.com/aponysus/rego/internal/suggest"
)

// semantic warns about values that are each valid but together, or for
// what they silently mean, are most likely a mistake. n is the normalised
// policy at path; fields that had an error are not judged.
func (d *docDecoder) semantic(path string, n *EffectivePolicy) {
	if !d.strict {
		return
	}
	ok := func(fields ...string) bool {
		for _, f := range fields {
			if d.bad[joinPath(path, f)] {
				return false
			}
		}
		return true
	}
	r, h, c, s := &n.Retry, &n.Hedge, &n.Circuit, &n.Shed
	if r.OverallTimeout > 0 && r.TimeoutPerAttempt > r.OverallTimeout && ok("retry.overall_timeout", "retry.timeout_per_attempt") {
		d.warn(joinPath(path, "retry.overall_timeout"), "%s is shorter than retry.timeout_per_attempt (%s): no attempt can run for its full timeout",
			formatDuration(r.OverallTimeout), formatDuration(r.TimeoutPerAttempt))
	}
	if h.Enabled && r.MaxAttempts == 1 && ok("retry.max_attempts") {
		d.warn(joinPath(path, "hedge.enabled"), "hedges count toward retry.max_attempts, which is 1: no hedge can launch")
	}
	if h.Enabled && h.Trigger == TriggerFixed && r.TimeoutPerAttempt > 0 && h.Delay >= r.TimeoutPerAttempt &&
		ok("hedge.delay", "retry.timeout_per_attempt") {
		d.warn(joinPath(path, "hedge.delay"), "%s is not shorter than retry.timeout_per_attempt (%s): attempts time out before a hedge launches",
			formatDuration(h.Delay), formatDuration(r.TimeoutPerAttempt))
	}
	if c.SlowCallRateThreshold > 0 && c.SlowCallDuration == 0 && ok("circuit.slow_call_duration") {
		d.warn(joinPath(path, "circuit.slow_call_rate_threshold"), "set without circuit.slow_call_duration: no attempt counts as slow, so the rule never opens the breaker")
	}
	if (s.SheddableFraction > s.SheddablePlusFraction || s.SheddablePlusFraction > s.CriticalFraction) &&
		ok("shed.sheddable_fraction", "shed.sheddable_plus_fraction", "shed.critical_fraction") {
		d.warn(joinPath(path, "shed"), "the fractions should grow with criticality (sheddable %g, sheddable_plus %g, critical %g): less critical work would be shed later",
			s.SheddableFraction, s.SheddablePlusFraction, s.CriticalFraction)
	}
}

// checkNames reports every name n uses that the program does not register,
// for the lists DecodeOptions holds.
func (d *docDecoder) checkNames(path string, n *EffectivePolicy) {
	o := d.opts
	d.checkName(path, "retry.budget.name", "budget", n.Retry.Budget.Name, o.Budgets, nil)
	d.checkName(path, "hedge.budget.name", "budget", n.Hedge.Budget.Name, o.Budgets, nil)
	d.checkName(path, "retry.classifier", "classifier", n.Retry.ClassifierName, o.Classifiers, nil)
	trig := leafByPath["hedge.trigger"]
	if !trig.known(string(n.Hedge.Trigger)) {
		d.checkName(path, "hedge.trigger", "hedge trigger", string(n.Hedge.Trigger), o.Triggers, trig.enum)
	}
	for i, g := range n.Gates {
		d.checkName(path, gatePath(i)+".name", "gate", g.Name, o.Gates, nil)
	}
}

// checkName reports name at field when registered is non-nil and holds
// neither it nor builtin holds it, suggesting the nearest of both.
func (d *docDecoder) checkName(path, field, what, name string, registered, builtin []string) {
	if name == "" || registered == nil || d.bad[joinPath(path, field)] {
		return
	}
	all := append(append([]string(nil), builtin...), registered...)
	for _, r := range all {
		if r == name {
			return
		}
	}
	sorted := append([]string(nil), registered...)
	sort.Strings(sorted)
	list := "none"
	if len(sorted) > 0 {
		q := make([]string, len(sorted))
		for i, s := range sorted {
			q[i] = strconv.Quote(s)
		}
		list = strings.Join(q, ", ")
	}
	d.fail(joinPath(path, field), "%s %q is not registered (the program registers %s)%s", what, name, list, suggest.Hint(name, all))
}
