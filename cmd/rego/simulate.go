package main

import (
	"fmt"
	"io"
	"math"
	"math/rand"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/internal/suggest"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

const simulateHead = `usage: rego simulate [flags]

Runs a key's policy on the discrete-event simulator (package sim): calls
arrive at -rate for -duration against a server that fails a fraction
-failure of attempts (or every attempt for -outage), its failures
carrying a Retry-After hint of -retry-after; each client is a process of
its own, with its executor, breaker and budget (-budget). It prints the
scenario, the budget's parameters, the policy, the load amplification,
the success rate and what the gates refused. Runs are deterministic for a
given -seed.

The policy comes from -doc: the policy the document names for -key (a key
the document does not name is an error), or the document's default
policy when -key is left out. Without -doc it is the built-in default
policy. With -compare, the same scenario runs with a second document's
policy for the key and both results are printed side by side.

Every call runs through the executor's own decision core, so the policy
acts as it does in a program: attempts, backoff and jitter, timeouts,
hedging, the circuit breaker, the client-side overload gates and the
budgets the policy names (each is the budget of -budget; with -budget none
a named budget is missing and admits every attempt, as in an executor
without it). What a simulation cannot have, simulate says in a note: user
gates (no program registers them here: they admit every attempt), a named
classifier (the simulator's own judges the attempts), and gates that wait
(an attempt cannot wait on virtual time: they refuse at once).
`

const simulateTail = `exit status:
  0  the simulation ran
  1  a document cannot be read or does not load
  2  usage error (a bad flag value, or a -key no document names)
`

// scenarioFlags are the simulation's parameters.
type scenarioFlags struct {
	rate                            float64
	duration, outage, latency       time.Duration
	failure                         float64
	retryAfter                      time.Duration
	clients                         int
	seed                            int64
	budget                          string
	ratio, minRetries, tokensRefill float64
	throttleK                       float64
	window                          time.Duration
	tokens                          int
	docFile, compareFile, key       string
}

func simulate(args []string, stdout, stderr io.Writer) int {
	c := newCommand("simulate", simulateHead, simulateTail)
	var f scenarioFlags
	c.fs.StringVar(&f.docFile, "doc", "", "policy document to take the policy from (default: the built-in default policy)")
	c.fs.StringVar(&f.compareFile, "compare", "", "a second policy document: run the same scenario with its policy and compare")
	c.fs.StringVar(&f.key, "key", "", "policy key; with -doc it must be in the document (leave it out for the document's default policy)")
	c.fs.Float64Var(&f.rate, "rate", 1000, "offered calls per second, over all clients")
	c.fs.DurationVar(&f.duration, "duration", 30*time.Second, "how long calls arrive (virtual time)")
	c.fs.Float64Var(&f.failure, "failure", 0.3, "fraction of attempts that fail retryably, in [0, 1]")
	c.fs.DurationVar(&f.outage, "outage", 0, "if positive, every attempt fails for this long from the start (then -failure applies)")
	c.fs.DurationVar(&f.latency, "latency", 10*time.Millisecond, "mean service time (exponential)")
	c.fs.DurationVar(&f.retryAfter, "retry-after", 0, "if positive, every failing attempt carries this Retry-After hint, which replaces the backoff")
	c.fs.IntVar(&f.clients, "clients", 1, "clients sharing the load, each a process of its own (its executor, breaker and budget)")
	c.fs.Int64Var(&f.seed, "seed", 1, "random seed")
	c.fs.StringVar(&f.budget, "budget", "none", "each client's budget, under every budget name the policy gives (\"sim\" for retries when it names none): none, token, ratio or throttle")
	c.fs.Float64Var(&f.ratio, "ratio", budget.DefaultRatio, "ratio budget: retries allowed per first attempt in the window")
	c.fs.Float64Var(&f.minRetries, "min-retries", budget.DefaultMinRetriesPerSecond, "ratio budget: retries per second always allowed")
	c.fs.DurationVar(&f.window, "window", budget.DefaultRatioWindow, "ratio and throttle budgets: how far back they count")
	c.fs.Float64Var(&f.throttleK, "k", budget.DefaultThrottleK, "throttle budget: requests per accepted request before it rejects, in [1, 1000]")
	c.fs.IntVar(&f.tokens, "tokens", 100, "token budget: bucket capacity")
	c.fs.Float64Var(&f.tokensRefill, "refill", 10, "token budget: tokens added per second")
	pos, code, ok := c.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return c.usageError(stderr, "takes no arguments, got %q (did you mean -doc %s?)", pos, pos[0])
	}
	if msg := f.check(); msg != "" {
		return c.usageError(stderr, "%s", msg)
	}
	mk, budgetDesc := f.budgetMaker()
	runs, code, msg := f.policies()
	if msg != "" {
		if code == exitUsage {
			return c.usageError(stderr, "%s", msg)
		}
		fmt.Fprintf(stderr, "rego simulate: %s\n", msg)
		return code
	}
	var fail sim.Failure = sim.FailureRate(f.failure)
	if f.outage > 0 {
		fail = sim.Outage{From: 0, To: f.outage, Else: fail}
	}
	reps := make([]sim.Report, len(runs))
	for i, r := range runs {
		p := simulable(r.p)
		rep, err := sim.Run(sim.Scenario{
			Seed: f.seed, Duration: f.duration, Rate: f.rate, Poisson: true, Clients: f.clients,
			Server: sim.ServerConfig{Latency: sim.Exponential{Mean: f.latency}, Failure: fail, RetryAfter: f.retryAfter},
			Policy: &p, Budget: mk,
		})
		if err != nil {
			// The flags were checked; this is the simulator's own limit.
			fmt.Fprintf(stderr, "rego simulate: %v\n", err)
			return exitFail
		}
		reps[i] = rep
	}
	fmt.Fprintf(stdout, "scenario: %s\n", f.describe())
	fmt.Fprintf(stdout, "budget: %s\n", budgetDesc)
	for _, r := range runs {
		for _, n := range notModelled(r, f.budget) {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
	}
	if len(runs) == 1 {
		r, rep := runs[0], reps[0]
		fmt.Fprintf(stdout, "policy %s: %s\n", r.label, describePolicy(r.p))
		fmt.Fprintf(stdout, "load: %d calls, %d attempts reached the server: %.3fx the offered load\n", rep.Offered, rep.Received, rep.Load)
		fmt.Fprintf(stdout, "success rate: %.2f%%; retries %d; hedges %d\n", 100*rep.SuccessRate, rep.Stats.Retries, rep.Stats.Hedges)
		fmt.Fprintf(stdout, "refused: %s\n", refusals(rep.Stats))
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\t%s\t%s\n", runs[0].label, runs[1].label)
	row := func(name string, v func(simRun, sim.Report) string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, v(runs[0], reps[0]), v(runs[1], reps[1]))
	}
	row("max attempts", func(r simRun, _ sim.Report) string { return fmt.Sprint(r.p.Retry.MaxAttempts) })
	row("backoff", func(r simRun, _ sim.Report) string {
		return fmt.Sprintf("%v..%v x%g, %s jitter", r.p.Retry.InitialBackoff, r.p.Retry.MaxBackoff, r.p.Retry.BackoffMultiplier, r.p.Retry.Jitter)
	})
	row("per-attempt timeout", func(r simRun, _ sim.Report) string { return timeout(r.p.Retry.TimeoutPerAttempt) })
	row("overall timeout", func(r simRun, _ sim.Report) string { return timeout(r.p.Retry.OverallTimeout) })
	row("hedging", func(r simRun, _ sim.Report) string { return describeHedge(r.p.Hedge) })
	row("circuit breaker", func(r simRun, _ sim.Report) string { return describeCircuit(r.p.Circuit) })
	row("calls", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Offered) })
	row("attempts at the server", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Received) })
	row("load", func(_ simRun, rep sim.Report) string { return fmt.Sprintf("%.3fx", rep.Load) })
	row("success rate", func(_ simRun, rep sim.Report) string { return fmt.Sprintf("%.2f%%", 100*rep.SuccessRate) })
	row("retries", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Stats.Retries) })
	row("hedges", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Stats.Hedges) })
	row("refused by the budget", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Stats.BudgetRefusals) })
	row("refused by the breaker", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Stats.CircuitRefusals) })
	row("refused by other gates", func(_ simRun, rep sim.Report) string { return fmt.Sprint(otherRefusals(rep.Stats)) })
	row("calls refused outright", func(_ simRun, rep sim.Report) string { return fmt.Sprint(rep.Stats.Denied) })
	tw.Flush()
	return exitOK
}

// check returns what is wrong with the flags, naming the flag.
func (f *scenarioFlags) check() string {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(f.rate > 0) || !finite(f.rate):
		return fmt.Sprintf("-rate must be a positive number of calls per second, got %v", f.rate)
	case f.duration <= 0:
		return fmt.Sprintf("-duration must be positive, got %v", f.duration)
	case !(f.failure >= 0 && f.failure <= 1):
		return fmt.Sprintf("-failure must be in [0, 1], got %v", f.failure)
	case f.outage < 0:
		return fmt.Sprintf("-outage must not be negative, got %v", f.outage)
	case f.latency < 0:
		return fmt.Sprintf("-latency must not be negative, got %v", f.latency)
	case f.retryAfter < 0:
		return fmt.Sprintf("-retry-after must not be negative, got %v", f.retryAfter)
	case f.clients < 1:
		return fmt.Sprintf("-clients must be at least 1, got %d", f.clients)
	case f.compareFile != "" && f.docFile == "":
		return "-compare needs -doc: the document to compare it with"
	}
	switch f.budget {
	case "none":
	case "ratio":
		switch {
		case !(f.ratio > 0 && f.ratio <= 1000):
			return fmt.Sprintf("-ratio must be in (0, 1000], got %v", f.ratio)
		case !(f.minRetries >= 0) || !finite(f.minRetries):
			return fmt.Sprintf("-min-retries must be a number of retries per second, at least 0, got %v", f.minRetries)
		}
	case "throttle":
		if !(f.throttleK >= 1 && f.throttleK <= 1000) {
			return fmt.Sprintf("-k must be in [1, 1000], got %v", f.throttleK)
		}
	case "token":
		switch {
		case f.tokens < 0:
			return fmt.Sprintf("-tokens must not be negative, got %d", f.tokens)
		case !(f.tokensRefill >= 0) || !finite(f.tokensRefill):
			return fmt.Sprintf("-refill must be a number of tokens per second, at least 0, got %v", f.tokensRefill)
		}
	default:
		return fmt.Sprintf("-budget must be none, token, ratio or throttle, got %q", f.budget)
	}
	if (f.budget == "ratio" || f.budget == "throttle") && f.window < budget.DefaultRatioBuckets {
		return fmt.Sprintf("-window must be at least %dns, got %v", budget.DefaultRatioBuckets, f.window)
	}
	return ""
}

// budgetMaker returns the simulator's budget factory for the flags, and
// the budget's parameters in words.
func (f *scenarioFlags) budgetMaker() (func(clock.Clock, *rand.Rand) (budget.Budget, error), string) {
	per := "one per client"
	switch f.budget {
	case "token":
		return func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
			return budget.NewTokenBucketBudgetClock(f.tokens, f.tokensRefill, clk), nil
		}, fmt.Sprintf("token bucket of %d tokens, refilled at %g/s (-tokens, -refill), %s", f.tokens, f.tokensRefill, per)
	case "ratio":
		minRetries := f.minRetries
		if minRetries == 0 {
			minRetries = -1 // RatioOptions: negative means no floor
		}
		return func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
				return budget.NewRatioBudget(budget.RatioOptions{Ratio: f.ratio, MinRetriesPerSecond: minRetries, Window: f.window, Clock: clk})
			}, fmt.Sprintf("ratio: retries up to %g of first attempts, at least %g retries/s, over %v (-ratio, -min-retries, -window), %s",
				f.ratio, f.minRetries, f.window, per)
	case "throttle":
		return func(clk clock.Clock, rnd *rand.Rand) (budget.Budget, error) {
				return budget.NewThrottle(budget.ThrottleOptions{K: f.throttleK, Window: f.window, Clock: clk, Rand: rnd})
			}, fmt.Sprintf("adaptive throttle: K %g over %v (-k, -window), %s",
				f.throttleK, f.window, per)
	}
	return nil, "none: every retry is allowed (-budget none, token, ratio or throttle)"
}

// describe is the scenario in words.
func (f *scenarioFlags) describe() string {
	server := fmt.Sprintf("%g%% of attempts fail", 100*f.failure)
	if f.outage > 0 {
		server = fmt.Sprintf("every attempt fails for the first %v, then %s", f.outage, server)
	}
	if f.retryAfter > 0 {
		server += fmt.Sprintf(", with Retry-After %v", f.retryAfter)
	}
	return fmt.Sprintf("%g calls/s for %v over %s (a process each); server: %v mean latency, %s; seed %d",
		f.rate, f.duration, count(f.clients, "client"), f.latency, server, f.seed)
}

// simRun is one policy to simulate and where it came from.
type simRun struct {
	label string
	p     policy.EffectivePolicy
}

// policies returns the policies the flags select, or an error message and
// its exit status.
func (f *scenarioFlags) policies() ([]simRun, int, string) {
	if f.docFile == "" {
		key := f.key
		if key == "" {
			key = "svc.Call"
		}
		return []simRun{{label: key + " (built-in default policy)", p: policy.DefaultPolicyFor(policy.ParseKey(key))}}, exitOK, ""
	}
	files := []string{f.docFile}
	if f.compareFile != "" {
		files = append(files, f.compareFile)
	}
	docs := make([]*policy.Document, len(files))
	for i, file := range files {
		doc, err := loadDocument(file, policy.DecodeOptions{})
		if err != nil {
			return nil, exitFail, fmt.Sprintf("%s does not load: %v", file, err)
		}
		docs[i] = doc
	}
	runs := make([]simRun, len(files))
	if f.key == "" {
		for i, doc := range docs {
			if doc.Default == nil {
				return nil, exitUsage, fmt.Sprintf("%s has no default policy: name a key with -key (its keys: %s)", files[i], keyList(doc))
			}
			runs[i] = simRun{label: files[i] + " default", p: *doc.Default}
		}
		return runs, exitOK, ""
	}
	key := policy.ParseKey(f.key)
	named := false
	for _, doc := range docs {
		if _, ok := doc.Policies[key]; ok {
			named = true
		}
	}
	if !named {
		var all []string
		for _, doc := range docs {
			for _, k := range doc.Keys() {
				all = append(all, k.String())
			}
		}
		return nil, exitUsage, fmt.Sprintf("-key %s is not in %s (its keys: %s)%s; leave -key out to simulate the default policy",
			f.key, strings.Join(files, " or "), keyList(docs...), suggest.Hint(f.key, all))
	}
	for i, doc := range docs {
		p, ok := doc.Lookup(key)
		label := files[i] + " " + f.key
		if _, own := doc.Policies[key]; !own {
			label += " (the document's default)"
		}
		if !ok {
			return nil, exitUsage, fmt.Sprintf("%s has no policy for %s and no default", files[i], f.key)
		}
		runs[i] = simRun{label: label, p: p}
	}
	return runs, exitOK, ""
}

// keyList lists the keys the documents name.
func keyList(docs ...*policy.Document) string {
	seen := map[string]bool{}
	var keys []string
	for _, d := range docs {
		for _, k := range d.Keys() {
			if !seen[k.String()] {
				seen[k.String()] = true
				keys = append(keys, k.String())
			}
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// refusals says what the gates refused.
func refusals(st sim.Stats) string {
	return fmt.Sprintf("%d attempts by the budget, %d by the breaker, %d by other gates; %d calls refused outright",
		st.BudgetRefusals, st.CircuitRefusals, otherRefusals(st), st.Denied)
}

func otherRefusals(st sim.Stats) int64 { return st.Rejections - st.BudgetRefusals - st.CircuitRefusals }

// describePolicy is a policy in words.
func describePolicy(p policy.EffectivePolicy) string {
	r := p.Retry
	s := fmt.Sprintf("%d attempts, backoff %v..%v x%g, %s jitter, per-attempt timeout %s, overall timeout %s",
		r.MaxAttempts, r.InitialBackoff, r.MaxBackoff, r.BackoffMultiplier, r.Jitter,
		timeout(r.TimeoutPerAttempt), timeout(r.OverallTimeout))
	if p.Hedge.Enabled {
		s += ", hedging " + describeHedge(p.Hedge)
	}
	if p.Circuit.Enabled {
		s += ", circuit breaker " + describeCircuit(p.Circuit)
	}
	return s
}

// describeHedge is a hedging policy in words.
func describeHedge(h policy.HedgePolicy) string {
	if !h.Enabled {
		return "off"
	}
	delay := fmt.Sprintf("after %v", h.Delay)
	if h.Trigger != policy.TriggerFixed {
		delay = fmt.Sprintf("at the %s latency (%v until it has samples)", h.Trigger, h.Delay)
	}
	return fmt.Sprintf("up to %s %s", count(h.MaxHedges, "hedge"), delay)
}

// describeCircuit is a breaker's policy in words.
func describeCircuit(c policy.CircuitPolicy) string {
	if !c.Enabled {
		return "off"
	}
	s := fmt.Sprintf("opens after %d consecutive failures", c.FailureThreshold)
	if c.FailureRateThreshold > 0 {
		s += fmt.Sprintf(" or %g%% failing over %v", 100*c.FailureRateThreshold, c.Window)
	}
	s += fmt.Sprintf(", cooldown %v", c.Cooldown)
	if c.Shadow {
		s += " (shadow: it records, never refuses)"
	}
	return s
}

// timeout prints an optional timeout: "none" for zero.
func timeout(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return d.String()
}

// simulable is p as the simulator can run it: gates that would wait refuse
// at once instead (notModelled says so).
func simulable(p policy.EffectivePolicy) policy.EffectivePolicy {
	p.Bulkhead.MaxWait, p.RateLimit.MaxWait, p.Concurrency.MaxWait = 0, 0, 0
	return p
}

// notModelled lists what the simulation of r's policy cannot do as a
// program would, and what it does instead.
func notModelled(r simRun, budgetFlag string) []string {
	p := r.p
	var notes []string
	var waits []string
	for _, w := range sim.GateWaits(&p) {
		waits = append(waits, fmt.Sprintf("the %s (max_wait %v)", w.Name, w.Wait))
	}
	if len(waits) > 0 {
		notes = append(notes, fmt.Sprintf("%s lets attempts wait at %s; an attempt cannot wait on virtual time: simulated refusing at once",
			r.label, joinAnd(waits)))
	}
	if len(p.Gates) > 0 {
		var names []string
		for _, g := range p.Gates {
			names = append(names, fmt.Sprintf("%q", g.Name))
		}
		notes = append(notes, fmt.Sprintf("%s names user %s %s; no program registers %s here: %s every attempt (gate_not_found), as in an executor without %s",
			r.label, plural(len(names), "gate"), joinAnd(names), pronoun(len(names)), verb(len(names), "admits", "admit"), pronoun(len(names))))
	}
	if p.Retry.ClassifierName != "" {
		notes = append(notes, fmt.Sprintf("%s names classifier %q; the simulator's own judges the attempts (its failures are retryable)",
			r.label, p.Retry.ClassifierName))
	}
	var names []string
	for _, b := range []policy.BudgetRef{p.Retry.Budget, p.Hedge.Budget} {
		if q := fmt.Sprintf("%q", b.Name); b.Name != "" && (len(names) == 0 || names[0] != q) {
			names = append(names, q)
		}
	}
	switch {
	case len(names) == 0:
	case budgetFlag == "none":
		notes = append(notes, fmt.Sprintf("%s names budget %s; with -budget none %s missing: %s every attempt (budget_not_found), as in an executor without %s",
			r.label, joinAnd(names), verb(len(names), "it is", "they are"), verb(len(names), "it admits", "they admit"), pronoun(len(names))))
	default:
		notes = append(notes, fmt.Sprintf("%s names budget %s: in each client %s a budget made by -budget", r.label, joinAnd(names), verb(len(names), "it is", "each is")))
	}
	return notes
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func joinAnd(xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
