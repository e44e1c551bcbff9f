package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// MaxVersionLen bounds a document's version string: it travels into every
// timeline and HTTP header, so it must stay short.
const MaxVersionLen = 128

// DecodeDocument parses, validates and normalises a JSON policy document.
//
// Every policy is normalised once, here: defaults are filled in, values out
// of range are clamped and reported in Document.Warnings, Meta.Version is
// set to the document's version and Meta.Source to SourceUnknown (providers
// stamp their own source with SetSource).
//
// Problems that cannot be repaired (malformed JSON, an unknown field, a
// wrong type, a bad duration, an unknown jitter kind, a bad or duplicate
// key, a missing version) are all collected, each naming its exact path,
// and returned as a *DocumentError wrapping ErrInvalidDocument; the
// document is then nil. DecodeDocument never panics.
func DecodeDocument(data []byte) (*Document, error) {
	d := &docDecoder{}
	doc := d.document(data)
	if d.failed {
		probs := make([]Problem, 0, len(d.problems))
		for _, s := range []Severity{SeverityError, SeverityWarning} {
			for _, p := range d.problems {
				if p.Severity == s {
					probs = append(probs, p)
				}
			}
		}
		return nil, &DocumentError{Problems: probs}
	}
	doc.Warnings = d.problems
	return doc, nil
}

type docDecoder struct {
	problems []Problem
	failed   bool
}

func (d *docDecoder) fail(path, format string, args ...any) {
	d.failed = true
	d.problems = append(d.problems, Problem{Path: path, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)})
}

func (d *docDecoder) warn(path, msg string) {
	d.problems = append(d.problems, Problem{Path: path, Severity: SeverityWarning, Msg: msg})
}

type member struct {
	name string
	raw  json.RawMessage
}

// members splits a JSON object into its members in document order, so
// that problems are reported in the order a reader meets them and
// duplicate names are caught (encoding/json silently keeps the last).
// ok is false, with the problem recorded, when raw is not an object.
func (d *docDecoder) members(path string, raw json.RawMessage) (ms []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	t, err := dec.Token()
	if err != nil {
		d.fail(path, "want an object: %v", err)
		return nil, false
	}
	if delim, isDelim := t.(json.Delim); !isDelim || delim != '{' {
		d.fail(path, "want an object, got %s", truncate(raw))
		return nil, false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			d.fail(path, "malformed object: %v", err)
			return nil, false
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			d.fail(path, "malformed object: %v", err)
			return nil, false
		}
		if seen[name] {
			if path == "policies" {
				d.fail(keyPath(name), "duplicate key")
			} else {
				d.fail(joinPath(path, name), "duplicate field")
			}
			continue
		}
		seen[name] = true
		ms = append(ms, member{name: name, raw: v})
	}
	return ms, true
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func keyPath(key string) string { return "policies[" + strconv.Quote(key) + "]" }

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func (d *docDecoder) document(data []byte) *Document {
	if len(bytes.TrimSpace(data)) == 0 {
		d.fail("document", "empty document")
		return nil
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			d.fail("document", "malformed JSON at byte %d: %v", se.Offset, se)
		} else {
			d.fail("document", "malformed JSON: %v", err)
		}
		return nil
	}
	ms, ok := d.members("document", data)
	if !ok {
		return nil
	}
	doc := &Document{Policies: map[PolicyKey]EffectivePolicy{}}
	hasVersion := false
	for _, m := range ms {
		switch m.name {
		case "$schema":
			// Lets editors find docs/policy.schema.json; not used.
			d.str(m.name, m.raw)
		case "version":
			hasVersion = true
			doc.Version = d.version(m.raw)
		case "default":
			if isNull(m.raw) {
				continue
			}
			if p, ok := d.policy("default", m.raw); ok {
				doc.Default = &p
			}
		case "policies":
			d.policies(doc, m.raw)
		default:
			d.fail(m.name, "unknown field (want version, default or policies)")
		}
	}
	if !hasVersion {
		d.fail("version", "required")
	}
	if doc.Default != nil {
		doc.Default.Meta.Version = doc.Version
	}
	for k, p := range doc.Policies {
		p.Meta.Version = doc.Version
		doc.Policies[k] = p
	}
	return doc
}

func (d *docDecoder) version(raw json.RawMessage) string {
	v, ok := d.str("version", raw)
	switch {
	case !ok:
	case v == "":
		d.fail("version", "must not be empty")
	case len(v) > MaxVersionLen:
		d.fail("version", "longer than %d bytes", MaxVersionLen)
	case strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0:
		d.fail("version", "must be printable with no spaces, got %q", v)
	}
	return v
}

func (d *docDecoder) policies(doc *Document, raw json.RawMessage) {
	if isNull(raw) {
		return
	}
	ms, ok := d.members("policies", raw)
	if !ok {
		return
	}
	for _, m := range ms {
		path := keyPath(m.name)
		key := ParseKey(m.name)
		switch {
		case m.name == "":
			d.fail(path, "empty key")
			continue
		case strings.TrimSpace(m.name) != m.name:
			d.fail(path, "key has surrounding spaces")
			continue
		case key.Name == "":
			d.fail(path, "key has an empty name (want \"namespace.name\")")
			continue
		case key.String() != m.name:
			d.fail(path, "key is not in canonical form (want %q)", key.String())
			continue
		}
		p, ok := d.policy(path, m.raw)
		if !ok {
			continue
		}
		p.Key = key
		doc.Policies[key] = p
	}
}

// policy decodes and normalises one policy. ok is false when it had an
// error.
func (d *docDecoder) policy(path string, raw json.RawMessage) (p EffectivePolicy, ok bool) {
	failedBefore := d.failed
	d.failed = false
	defer func() { d.failed = d.failed || failedBefore }()

	ms, ok := d.members(path, raw)
	if !ok {
		return p, false
	}
	for _, m := range ms {
		fp := joinPath(path, m.name)
		switch m.name {
		case "id":
			p.ID, _ = d.str(fp, m.raw)
		case "retry":
			p.Retry = d.retry(fp, m.raw)
		case "hedge":
			p.Hedge = d.hedge(fp, m.raw)
		case "circuit":
			p.Circuit = d.circuit(fp, m.raw)
		default:
			d.fail(fp, "unknown field (want id, retry, hedge or circuit)")
		}
	}
	if d.failed {
		return p, false
	}
	n, err := p.Normalize()
	for _, e := range flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			d.fail(joinPath(path, fe.Field), "%s", fe.Msg)
		} else {
			d.fail(path, "%v", e)
		}
	}
	for _, f := range n.Meta.ClampedFields {
		d.warn(joinPath(path, f), fmt.Sprintf("out of range (got %s), clamped to %s", fieldValue(p, f), fieldValue(n, f)))
	}
	return n, !d.failed
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fieldValue renders the value of a field Normalize may clamp, for the
// warning that says what it was and what it became.
func fieldValue(p EffectivePolicy, field string) string {
	switch field {
	case "retry.max_attempts":
		return strconv.Itoa(p.Retry.MaxAttempts)
	case "retry.initial_backoff":
		return p.Retry.InitialBackoff.String()
	case "retry.max_backoff":
		return p.Retry.MaxBackoff.String()
	case "retry.backoff_multiplier":
		return strconv.FormatFloat(p.Retry.BackoffMultiplier, 'g', -1, 64)
	case "retry.timeout_per_attempt":
		return p.Retry.TimeoutPerAttempt.String()
	case "retry.overall_timeout":
		return p.Retry.OverallTimeout.String()
	case "retry.budget.cost":
		return strconv.Itoa(p.Retry.Budget.Cost)
	case "hedge.max_hedges":
		return strconv.Itoa(p.Hedge.MaxHedges)
	case "hedge.delay":
		return p.Hedge.Delay.String()
	case "hedge.budget.cost":
		return strconv.Itoa(p.Hedge.Budget.Cost)
	}
	return "?"
}

func (d *docDecoder) retry(path string, raw json.RawMessage) (r RetryPolicy) {
	if isNull(raw) {
		return r
	}
	ms, ok := d.members(path, raw)
	if !ok {
		return r
	}
	for _, m := range ms {
		fp := joinPath(path, m.name)
		switch m.name {
		case "max_attempts":
			r.MaxAttempts = d.integer(fp, m.raw)
		case "initial_backoff":
			r.InitialBackoff = d.duration(fp, m.raw)
		case "max_backoff":
			r.MaxBackoff = d.duration(fp, m.raw)
		case "backoff_multiplier":
			r.BackoffMultiplier = d.number(fp, m.raw)
		case "jitter":
			s, _ := d.str(fp, m.raw)
			r.Jitter = JitterKind(s)
		case "timeout_per_attempt":
			r.TimeoutPerAttempt = d.duration(fp, m.raw)
		case "overall_timeout":
			r.OverallTimeout = d.duration(fp, m.raw)
		case "classifier":
			r.ClassifierName, _ = d.str(fp, m.raw)
		case "budget":
			r.Budget = d.budget(fp, m.raw)
		default:
			d.fail(fp, "unknown field (want max_attempts, initial_backoff, max_backoff, backoff_multiplier, jitter, timeout_per_attempt, overall_timeout, classifier or budget)")
		}
	}
	return r
}

func (d *docDecoder) hedge(path string, raw json.RawMessage) (h HedgePolicy) {
	if isNull(raw) {
		return h
	}
	ms, ok := d.members(path, raw)
	if !ok {
		return h
	}
	for _, m := range ms {
		fp := joinPath(path, m.name)
		switch m.name {
		case "enabled":
			h.Enabled = d.boolean(fp, m.raw)
		case "max_hedges":
			h.MaxHedges = d.integer(fp, m.raw)
		case "trigger":
			s, _ := d.str(fp, m.raw)
			if s != "" && strings.TrimSpace(s) == "" {
				d.fail(fp, "blank trigger name")
			}
			h.Trigger = HedgeTrigger(s)
		case "delay":
			h.Delay = d.duration(fp, m.raw)
		case "budget":
			h.Budget = d.budget(fp, m.raw)
		case "cancel_on_non_retryable":
			h.CancelOnNonRetryable = d.boolean(fp, m.raw)
		default:
			d.fail(fp, "unknown field (want enabled, max_hedges, trigger, delay, budget or cancel_on_non_retryable)")
		}
	}
	return h
}

func (d *docDecoder) circuit(path string, raw json.RawMessage) (c CircuitPolicy) {
	if isNull(raw) {
		return c
	}
	ms, ok := d.members(path, raw)
	if !ok {
		return c
	}
	for _, m := range ms {
		fp := joinPath(path, m.name)
		switch m.name {
		case "enabled":
			c.Enabled = d.boolean(fp, m.raw)
		case "failure_threshold":
			c.FailureThreshold = d.integer(fp, m.raw)
		case "cooldown":
			c.Cooldown = d.duration(fp, m.raw)
		default:
			d.fail(fp, "unknown field (want enabled, failure_threshold or cooldown)")
		}
	}
	return c
}

func (d *docDecoder) budget(path string, raw json.RawMessage) (b BudgetRef) {
	if isNull(raw) {
		return b
	}
	ms, ok := d.members(path, raw)
	if !ok {
		return b
	}
	for _, m := range ms {
		fp := joinPath(path, m.name)
		switch m.name {
		case "name":
			b.Name, _ = d.str(fp, m.raw)
		case "cost":
			b.Cost = d.integer(fp, m.raw)
		default:
			d.fail(fp, "unknown field (want name or cost)")
		}
	}
	return b
}

func (d *docDecoder) str(path string, raw json.RawMessage) (string, bool) {
	if isNull(raw) {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(path, "want a string, got %s", truncate(raw))
		return "", false
	}
	return s, true
}

func (d *docDecoder) integer(path string, raw json.RawMessage) int {
	if isNull(raw) {
		return 0
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(path, "want an integer, got %s", truncate(raw))
		return 0
	}
	return v
}

func (d *docDecoder) number(path string, raw json.RawMessage) float64 {
	if isNull(raw) {
		return 0
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(path, "want a number, got %s", truncate(raw))
		return 0
	}
	return v
}

func (d *docDecoder) boolean(path string, raw json.RawMessage) bool {
	if isNull(raw) {
		return false
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(path, "want true or false, got %s", truncate(raw))
		return false
	}
	return v
}

func (d *docDecoder) duration(path string, raw json.RawMessage) time.Duration {
	if isNull(raw) {
		return 0
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(path, "want a duration string such as \"250ms\", got %s", truncate(raw))
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.fail(path, "invalid duration %q (want a duration string such as \"250ms\")", s)
		return 0
	}
	return v
}
