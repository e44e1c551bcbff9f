package main

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/aponysus/rego/policy"
)

const diffHead = `usage: rego diff [flags] OLD NEW

Shows, key by key, what the policy document NEW changes from OLD: every
field whose value differs in the policy a key gets (its own, else the
document's default), and which changes are risky:
  - more attempts per call: retry.max_attempts up, hedging turned on, more hedges
  - a budget removed, or set to shadow (no longer enforced)
  - the breaker, a bulkhead, rate limit, adaptive limit or shedding turned
    off or set to shadow; a user gate removed or set to shadow
  - with -deadline: a timeout longer than the callers' deadline, or none
  - a key left with no policy at all
`

const diffTail = `exit status:
  0  no risky change (there may be other changes)
  1  at least one risky change
  2  usage error, or a document that cannot be read or does not load
`

// defaultKey labels the documents' default policies.
const defaultKey = "(default)"

func diff(args []string, stdout, stderr io.Writer) int {
	c := newCommand("diff", diffHead, diffTail)
	deadline := c.fs.Duration("deadline", 0, "the callers' deadline: a timeout longer than it (or none) is risky; 0 means not checked")
	files, code, ok := c.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(files) != 2 {
		return c.usageError(stderr, "want two documents, OLD and NEW, got %d", len(files))
	}
	if *deadline < 0 {
		return c.usageError(stderr, "-deadline must not be negative, got %v", *deadline)
	}
	var docs [2]*policy.Document
	for i, f := range files {
		doc, err := loadDocument(f, policy.DecodeOptions{})
		if err != nil {
			printProblems(stderr, f, err)
			fmt.Fprintf(stderr, "rego diff: %s does not load (rego validate %s)\n", f, f)
			return exitUsage
		}
		docs[i] = doc
	}
	old, new := docs[0], docs[1]
	fmt.Fprintf(stdout, "%s (version %q) -> %s (version %q)\n", files[0], old.Version, files[1], new.Version)
	for i, d := range docs {
		if len(d.Warnings) > 0 {
			fmt.Fprintf(stdout, "note: %s has %s (rego validate %s)\n", files[i], count(len(d.Warnings), "warning"), files[i])
		}
	}
	changed, risky, unchanged := 0, 0, 0
	for _, k := range diffKeys(old, new) {
		var oldP, newP *policy.EffectivePolicy
		var oldFrom, newFrom string
		if k == defaultKey {
			oldP, newP = old.Default, new.Default
		} else {
			key := policy.ParseKey(k)
			oldP, oldFrom = lookup(old, key)
			newP, newFrom = lookup(new, key)
		}
		lines, nrisky := diffPolicy(oldP, newP, *deadline)
		if len(lines) == 0 {
			unchanged++
			continue
		}
		changed++
		risky += nrisky
		fmt.Fprintf(stdout, "%s%s:\n", k, origin(oldFrom, newFrom))
		for _, l := range lines {
			fmt.Fprintf(stdout, "  %s\n", l)
		}
	}
	fmt.Fprintf(stdout, "%s changed, %d unchanged; %s\n", count(changed, "key"), unchanged, count(risky, "risky change"))
	if risky > 0 {
		return exitFail
	}
	return exitOK
}

// diffKeys lists every key either document names, sorted, then the
// default.
func diffKeys(a, b *policy.Document) []string {
	seen := map[string]bool{}
	var keys []string
	for _, d := range []*policy.Document{a, b} {
		for k := range d.Policies {
			if s := k.String(); !seen[s] {
				seen[s] = true
				keys = append(keys, s)
			}
		}
	}
	sort.Strings(keys)
	return append(keys, defaultKey)
}

// lookup returns the policy doc gives key and where it comes from ("" for
// its own policy, "default" for the document's default); nil when none.
func lookup(doc *policy.Document, key policy.PolicyKey) (*policy.EffectivePolicy, string) {
	if p, ok := doc.Policies[key]; ok {
		return &p, ""
	}
	if doc.Default != nil {
		p := *doc.Default
		return &p, "default"
	}
	return nil, "none"
}

// origin says where a key's policies come from when it is not the key's
// own in both documents.
func origin(oldFrom, newFrom string) string {
	switch {
	case oldFrom == "" && newFrom == "":
		return ""
	case oldFrom == "default":
		return " (new key; OLD gave it the default policy)"
	case oldFrom == "none":
		return " (new key; OLD had no policy for it)"
	case newFrom == "default":
		return " (removed; NEW gives it the default policy)"
	}
	return " (removed; NEW has no policy for it)"
}

// diffPolicy describes the changes from a to b, one a line, and counts the
// risky ones. A nil policy is "no policy".
func diffPolicy(a, b *policy.EffectivePolicy, deadline time.Duration) (lines []string, risky int) {
	switch {
	case a == nil && b == nil:
		return nil, 0
	case a == nil:
		return []string{"added"}, 0
	case b == nil:
		return []string{"no policy any more: calls follow the executor's MissingPolicyMode  RISKY"}, 1
	}
	reasons := risks(*a, *b, deadline)
	for _, c := range policy.Diff(*a, *b) {
		l := fmt.Sprintf("%s: %s -> %s", c.Path, c.Old, c.New)
		if r, ok := reasons[c.Path]; ok {
			l += "  RISKY: " + r
			risky++
		}
		lines = append(lines, l)
	}
	return lines, risky
}

// limits are the sections whose "enabled" and "shadow" switch a protection
// on and off, with their names for the reader.
var limits = []struct {
	path, what string
	get        func(*policy.EffectivePolicy) (enabled, shadow bool)
}{
	{"circuit", "the circuit breaker", func(p *policy.EffectivePolicy) (bool, bool) { return p.Circuit.Enabled, p.Circuit.Shadow }},
	{"bulkhead", "the bulkhead", func(p *policy.EffectivePolicy) (bool, bool) { return p.Bulkhead.Enabled, p.Bulkhead.Shadow }},
	{"rate_limit", "the rate limit", func(p *policy.EffectivePolicy) (bool, bool) { return p.RateLimit.Enabled, p.RateLimit.Shadow }},
	{"concurrency", "the adaptive concurrency limit", func(p *policy.EffectivePolicy) (bool, bool) {
		return p.Concurrency.Enabled, p.Concurrency.Shadow
	}},
	{"shed", "load shedding", func(p *policy.EffectivePolicy) (bool, bool) { return p.Shed.Enabled, p.Shed.Shadow }},
}

// risks returns, by field path, why a change from a to b is risky.
func risks(a, b policy.EffectivePolicy, deadline time.Duration) map[string]string {
	r := map[string]string{}
	if b.Retry.MaxAttempts > a.Retry.MaxAttempts {
		r["retry.max_attempts"] = "more attempts per call"
	}
	if b.Hedge.Enabled && !a.Hedge.Enabled {
		r["hedge.enabled"] = "hedging turned on: more attempts per call"
	}
	if b.Hedge.Enabled && b.Hedge.MaxHedges > a.Hedge.MaxHedges {
		r["hedge.max_hedges"] = "more hedges per retry step"
	}
	// A protection that was enforced and no longer is: removed, turned
	// off, or set to shadow. One that was already off or in shadow is no
	// risk to change.
	for _, s := range []struct {
		path   string
		ab, bb policy.BudgetRef
	}{{"retry.budget", a.Retry.Budget, b.Retry.Budget}, {"hedge.budget", a.Hedge.Budget, b.Hedge.Budget}} {
		if s.ab.Name == "" || s.ab.Shadow {
			continue
		}
		switch {
		case s.bb.Name == "":
			r[s.path+".name"] = "budget removed"
		case s.bb.Shadow:
			r[s.path+".shadow"] = "budget no longer enforced"
		}
	}
	for _, l := range limits {
		aOn, aShadow := l.get(&a)
		bOn, bShadow := l.get(&b)
		if !aOn || aShadow {
			continue
		}
		switch {
		case !bOn:
			r[l.path+".enabled"] = l.what + " turned off"
		case bShadow:
			r[l.path+".shadow"] = l.what + " no longer enforced"
		}
	}
	if why := gateRisk(a.Gates, b.Gates); why != "" {
		r["gates"] = why
	}
	if deadline > 0 {
		for _, t := range []struct {
			path   string
			at, bt time.Duration
		}{{"retry.timeout_per_attempt", a.Retry.TimeoutPerAttempt, b.Retry.TimeoutPerAttempt},
			{"retry.overall_timeout", a.Retry.OverallTimeout, b.Retry.OverallTimeout}} {
			if exceeds(t.bt, deadline) && !exceeds(t.at, deadline) {
				r[t.path] = fmt.Sprintf("longer than the callers' deadline (%v)", deadline)
			}
		}
	}
	return r
}

// exceeds reports whether a timeout (zero: none) is longer than deadline.
func exceeds(t, deadline time.Duration) bool { return t == 0 || t > deadline }

// gateRisk says which user gates b drops or stops enforcing.
func gateRisk(a, b []policy.GateRef) string {
	inB := map[string]policy.GateRef{}
	for _, g := range b {
		inB[g.Name] = g
	}
	for _, g := range a {
		if g.Shadow {
			continue // not enforced before either
		}
		ng, ok := inB[g.Name]
		switch {
		case !ok:
			return fmt.Sprintf("gate %q removed", g.Name)
		case ng.Shadow && !g.Shadow:
			return fmt.Sprintf("gate %q no longer enforced", g.Name)
		}
	}
	return ""
}
