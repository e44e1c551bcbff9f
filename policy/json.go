package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// The JSON forms of policies are derived from the field table (fields.go):
// snake_case names, durations as Go duration strings, zero fields left
// out. Decoding checks the form only (types, unknown and duplicate
// fields); ranges are Normalize's business, and DecodeDocument's for
// documents.

// Duration is a time.Duration that encodes to JSON as a Go duration string
// ("250ms") and decodes only from one, as the policy types encode their
// durations: for durations in JSON forms of your own that sit next to
// policies. The policy structs themselves use time.Duration.
type Duration time.Duration

// MarshalJSON encodes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON decodes a duration string such as "250ms" or "1m30s".
// Integers are rejected: nanosecond counts are too easy to get wrong.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"250ms\", got %s", truncate(b))
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	*d = Duration(v)
	return nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// encodeObject writes the non-zero fields of fs in r as a JSON object.
func encodeObject[R any](b *bytes.Buffer, fs []*field[R], r *R) error {
	b.WriteByte('{')
	first := true
	for _, f := range fs {
		if f.kind == kindGates {
			if len(*f.gatesp(r)) == 0 {
				continue
			}
		} else if f.isZero(r) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(f.name)
		b.Write(name)
		b.WriteByte(':')
		if err := encodeValue(b, f, r); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return nil
}

func encodeValue[R any](b *bytes.Buffer, f *field[R], r *R) error {
	var v any
	switch f.kind {
	case kindBool:
		v = *f.boolp(r)
	case kindInt:
		v = *f.intp(r)
	case kindFloat:
		x := *f.floatp(r)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("policy: %s: cannot encode %v in JSON", f.path, x)
		}
		v = x
	case kindDuration:
		v = formatDuration(*f.durp(r))
	case kindString, kindEnum:
		v = *f.strp(r)
	case kindObject:
		return encodeObject(b, f.sub, r)
	case kindGates:
		b.WriteByte('[')
		for i := range *f.gatesp(r) {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeObject(b, gateFields, &(*f.gatesp(r))[i]); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	}
	out, err := json.Marshal(v)
	b.Write(out)
	return err
}

// marshalSection encodes the section called name of p.
func marshalSection(name string, p *EffectivePolicy) ([]byte, error) {
	var b bytes.Buffer
	err := encodeObject(&b, sectionNamed(name).sub, p)
	return b.Bytes(), err
}

// unmarshalSection decodes the section called name into p.
func unmarshalSection(name string, b []byte, p *EffectivePolicy) error {
	d := &docDecoder{}
	if d.valid(name, b) {
		decodeObject(d, name, sectionNamed(name).sub, p, b)
	}
	return d.err()
}

// valid records a problem at path unless b is well-formed JSON.
func (d *docDecoder) valid(path string, b []byte) bool {
	if json.Valid(b) {
		return true
	}
	d.fail(path, "malformed JSON: %s", truncate(b))
	return false
}

// err returns the errors recorded, as *FieldError values joined.
func (d *docDecoder) err() error {
	var errs []error
	for _, p := range d.problems {
		if p.Severity == SeverityError {
			errs = append(errs, &FieldError{Field: p.Path, Msg: p.Msg})
		}
	}
	return errors.Join(errs...)
}

// marshalSectionOf encodes s as the section called name.
func marshalSectionOf[S any](name string, s S, at func(*EffectivePolicy) *S) ([]byte, error) {
	var p EffectivePolicy
	*at(&p) = s
	return marshalSection(name, &p)
}

// unmarshalSectionOf decodes the section called name into dst; dst is
// unchanged on error.
func unmarshalSectionOf[S any](name string, b []byte, dst *S, at func(*EffectivePolicy) *S) error {
	var p EffectivePolicy
	err := unmarshalSection(name, b, &p)
	if err == nil {
		*dst = *at(&p)
	}
	return err
}

func retryOf(p *EffectivePolicy) *RetryPolicy { return &p.Retry }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (r RetryPolicy) MarshalJSON() ([]byte, error) { return marshalSectionOf("retry", r, retryOf) }

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (r *RetryPolicy) UnmarshalJSON(b []byte) error {
	return unmarshalSectionOf("retry", b, r, retryOf)
}

func hedgeOf(p *EffectivePolicy) *HedgePolicy { return &p.Hedge }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (h HedgePolicy) MarshalJSON() ([]byte, error) { return marshalSectionOf("hedge", h, hedgeOf) }

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (h *HedgePolicy) UnmarshalJSON(b []byte) error {
	return unmarshalSectionOf("hedge", b, h, hedgeOf)
}

func circuitOf(p *EffectivePolicy) *CircuitPolicy { return &p.Circuit }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (c CircuitPolicy) MarshalJSON() ([]byte, error) {
	return marshalSectionOf("circuit", c, circuitOf)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (c *CircuitPolicy) UnmarshalJSON(b []byte) error {
	return unmarshalSectionOf("circuit", b, c, circuitOf)
}

func bulkheadOf(p *EffectivePolicy) *BulkheadPolicy { return &p.Bulkhead }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (s BulkheadPolicy) MarshalJSON() ([]byte, error) {
	return marshalSectionOf("bulkhead", s, bulkheadOf)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (s *BulkheadPolicy) UnmarshalJSON(b []byte) error {
	return unmarshalSectionOf("bulkhead", b, s, bulkheadOf)
}

func rateLimitOf(p *EffectivePolicy) *RateLimitPolicy { return &p.RateLimit }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (s RateLimitPolicy) MarshalJSON() ([]byte, error) {
	return marshalSectionOf("rate_limit", s, rateLimitOf)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (s *RateLimitPolicy) UnmarshalJSON(b []byte) error {
	return unmarshalSectionOf("rate_limit", b, s, rateLimitOf)
}

func concurrencyOf(p *EffectivePolicy) *ConcurrencyPolicy { return &p.Concurrency }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (s ConcurrencyPolicy) MarshalJSON() ([]byte, error) {
	return marshalSectionOf("concurrency", s, concurrencyOf)
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (s *ConcurrencyPolicy) UnmarshalJSON(b []byte) error {
	return unmarshalSectionOf("concurrency", b, s, concurrencyOf)
}

func shedOf(p *EffectivePolicy) *ShedPolicy { return &p.Shed }

// MarshalJSON encodes the policy with snake_case names and duration strings.
func (s ShedPolicy) MarshalJSON() ([]byte, error) { return marshalSectionOf("shed", s, shedOf) }

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (s *ShedPolicy) UnmarshalJSON(b []byte) error { return unmarshalSectionOf("shed", b, s, shedOf) }

// budgetFields are the fields of a budget reference, as retry.budget.
var budgetFields = lookupField(sectionNamed("retry").sub, "budget").sub

// MarshalJSON encodes the budget reference with snake_case names.
func (b BudgetRef) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	err := encodeObject(&buf, budgetFields, &EffectivePolicy{Retry: RetryPolicy{Budget: b}})
	return buf.Bytes(), err
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (b *BudgetRef) UnmarshalJSON(data []byte) error {
	d := &docDecoder{}
	var p EffectivePolicy
	if d.valid("budget", data) {
		decodeObject(d, "budget", budgetFields, &p, data)
	}
	err := d.err()
	if err == nil {
		*b = p.Retry.Budget
	}
	return err
}

// MarshalJSON encodes the gate reference with snake_case names.
func (g GateRef) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	err := encodeObject(&b, gateFields, &g)
	return b.Bytes(), err
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (g *GateRef) UnmarshalJSON(b []byte) error {
	d := &docDecoder{}
	var out GateRef
	if d.valid("gate", b) {
		decodeObject(d, "gate", gateFields, &out, b)
	}
	err := d.err()
	if err == nil {
		*g = out
	}
	return err
}

// policyExtras are the members of a policy's JSON form that are not in a
// document: the key is the document's map key, and metadata is the
// loader's.
var policyExtras = []string{"key", "meta"}

// MarshalJSON encodes the policy; empty sections are left out.
func (p EffectivePolicy) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := encodeObject(&b, policyFields, &p); err != nil {
		return nil, err
	}
	body := b.Bytes()
	var extra []string
	if !p.Key.IsZero() {
		k, _ := json.Marshal(p.Key)
		extra = append(extra, `"key":`+string(k))
	}
	if p.Meta.Source != "" || p.Meta.Version != "" || p.Meta.Normalized || len(p.Meta.ClampedFields) > 0 {
		m, err := json.Marshal(p.Meta)
		if err != nil {
			return nil, err
		}
		extra = append(extra, `"meta":`+string(m))
	}
	if len(extra) == 0 {
		return body, nil
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i, e := range extra {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(e)
	}
	if len(body) > 2 {
		out.WriteByte(',')
		out.Write(body[1:])
	} else {
		out.WriteByte('}')
	}
	return out.Bytes(), nil
}

// UnmarshalJSON decodes the form MarshalJSON writes. Unknown fields are an
// error.
func (p *EffectivePolicy) UnmarshalJSON(b []byte) error {
	d := &docDecoder{}
	var out EffectivePolicy
	if d.valid("policy", b) {
		if ms, ok := d.members("policy", b); ok {
			var rest []member
			for _, m := range ms {
				switch m.name {
				case "key":
					if err := json.Unmarshal(m.raw, &out.Key); err != nil {
						d.fail("key", "want a key string, got %s", truncate(m.raw))
					}
				case "meta":
					if err := strictDecode(m.raw, &out.Meta); err != nil {
						d.fail("meta", "%v", err)
					}
				default:
					rest = append(rest, m)
				}
			}
			decodeMembers(d, "", policyFields, &out, rest, policyExtras)
		}
	}
	err := d.err()
	if err == nil {
		*p = out
	}
	return err
}

// strictDecode decodes b into v, rejecting unknown fields and trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the object")
	}
	return nil
}
