// Command rego checks policy documents and shows, on the simulator, what a
// retry policy does to a dependency before it ships.
//
//	rego validate policies.json [more.json ...]
//	rego simulate -doc policies.json -key payments.Charge -failure 0.3 -budget ratio
//
// validate lists every problem of each document with its path and exits 1
// when a document cannot load. simulate runs the key's retry policy (from
// the document, else the default policy) on the discrete-event simulator
// of package sim: calls arrive at -rate for -duration against a server
// that fails a fraction -failure of attempts (or is down for -outage), and
// it reports the success rate and the load amplification, with the budget
// chosen by -budget. Runs are deterministic for a given -seed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"time"

	"github.com/aponysus/rego/budget"
	"github.com/aponysus/rego/clock"
	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  rego validate FILE...     check policy documents (JSON)
  rego simulate [flags]     run a retry policy on the simulator (rego simulate -h)
`

// run is the command with its arguments and outputs; it returns the exit
// status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "validate":
		return validate(args[1:], stdout, stderr)
	case "simulate":
		return simulate(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rego: unknown command %q\n%s", args[0], usage)
	return 2
}

func validate(files []string, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprint(stderr, "rego validate: no files\n")
		return 2
	}
	status := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			status = 1
			continue
		}
		doc, err := policy.DecodeDocument(data)
		var de *policy.DocumentError
		switch {
		case errors.As(err, &de):
			for _, p := range de.Problems {
				fmt.Fprintf(stdout, "%s: %s\n", f, p)
			}
			status = 1
		case err != nil:
			fmt.Fprintf(stdout, "%s: %v\n", f, err)
			status = 1
		default:
			for _, p := range doc.Warnings {
				fmt.Fprintf(stdout, "%s: %s\n", f, p)
			}
			def := "no default"
			if doc.Default != nil {
				def = "a default"
			}
			fmt.Fprintf(stdout, "%s: ok: version %q, %d policies, %s\n", f, doc.Version, len(doc.Policies), def)
		}
	}
	return status
}

func simulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rego simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	docFile := fs.String("doc", "", "policy document to take the key's policy from (default: the default policy)")
	key := fs.String("key", "svc.Call", "policy key")
	rate := fs.Float64("rate", 1000, "offered calls per second")
	duration := fs.Duration("duration", 30*time.Second, "how long calls arrive (virtual time)")
	failure := fs.Float64("failure", 0.3, "fraction of attempts that fail retryably, in [0, 1]")
	outage := fs.Duration("outage", 0, "if positive, every attempt fails for this long from the start (then -failure applies)")
	latency := fs.Duration("latency", 10*time.Millisecond, "mean service time (exponential)")
	budgetKind := fs.String("budget", "none", "none, token, ratio or throttle")
	clients := fs.Int("clients", 1, "clients sharing the load, each with its own budget")
	seed := fs.Int64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *failure < 0 || *failure > 1 {
		fmt.Fprintf(stderr, "rego simulate: -failure must be in [0, 1], got %v\n", *failure)
		return 2
	}
	pk := policy.ParseKey(*key)
	p := policy.DefaultPolicyFor(pk)
	if *docFile != "" {
		data, err := os.ReadFile(*docFile)
		if err != nil {
			fmt.Fprintf(stderr, "rego simulate: %v\n", err)
			return 1
		}
		doc, err := policy.DecodeDocument(data)
		if err != nil {
			fmt.Fprintf(stderr, "rego simulate: %s: %v\n", *docFile, err)
			return 1
		}
		var ok bool
		if p, ok = doc.Lookup(pk); !ok {
			fmt.Fprintf(stderr, "rego simulate: %s has no policy for %s and no default\n", *docFile, pk)
			return 1
		}
	}
	mk, err := budgetMaker(*budgetKind)
	if err != nil {
		fmt.Fprintf(stderr, "rego simulate: %v\n", err)
		return 2
	}
	var fail sim.Failure = sim.FailureRate(*failure)
	if *outage > 0 {
		fail = sim.Outage{From: 0, To: *outage, Else: fail}
	}
	rep, err := sim.Run(sim.Scenario{
		Seed: *seed, Duration: *duration, Rate: *rate, Poisson: true, Clients: *clients,
		Server: sim.ServerConfig{Latency: sim.Exponential{Mean: *latency}, Failure: fail},
		Retry:  p.Retry, Budget: mk,
	})
	if err != nil {
		fmt.Fprintf(stderr, "rego simulate: %v\n", err)
		return 1
	}
	r := p.Retry
	fmt.Fprintf(stdout, "policy %s: %d attempts, backoff %v..%v x%g, %s jitter, per-attempt timeout %v, overall %v\n",
		pk, r.MaxAttempts, r.InitialBackoff, r.MaxBackoff, r.BackoffMultiplier, r.Jitter, r.TimeoutPerAttempt, r.OverallTimeout)
	fmt.Fprintf(stdout, "load: %d calls, %d attempts reached the server: %.3fx the offered load\n", rep.Offered, rep.Received, rep.Load)
	fmt.Fprintf(stdout, "success rate: %.2f%%; retries %d; denied by the budget %d\n", 100*rep.SuccessRate, rep.Stats.Retries, rep.Stats.Rejections)
	return 0
}

// budgetMaker returns the simulator's budget factory for a -budget name.
func budgetMaker(kind string) (func(clock.Clock, *rand.Rand) (budget.Budget, error), error) {
	switch kind {
	case "none":
		return nil, nil
	case "token":
		return func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
			return budget.NewTokenBucketBudgetClock(100, 10, clk), nil
		}, nil
	case "ratio":
		return func(clk clock.Clock, _ *rand.Rand) (budget.Budget, error) {
			return budget.NewRatioBudget(budget.RatioOptions{Clock: clk})
		}, nil
	case "throttle":
		return func(clk clock.Clock, rnd *rand.Rand) (budget.Budget, error) {
			return budget.NewThrottle(budget.ThrottleOptions{Clock: clk, Rand: rnd})
		}, nil
	}
	return nil, fmt.Errorf("-budget must be none, token, ratio or throttle, got %q", kind)
}
