package policy

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/aponysus/rego/internal/suggest"
)

// policy decodes and normalises one policy of a document. Every problem
// is recorded, whatever came before it: a field with an error is left at
// its default so that the rest of the policy is still checked. ok is false
// when the policy had an error.
func (d *docDecoder) policy(path string, raw json.RawMessage) (n EffectivePolicy, ok bool) {
	failedBefore := d.failed
	d.failed = false
	defer func() { d.failed = d.failed || failedBefore }()

	if isNull(raw) {
		d.fail(path, "want an object, got null")
		return n, false
	}
	var p EffectivePolicy
	if !decodeObject(d, path, policyFields, &p, raw) {
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
		lf := leafByPath[f]
		d.warn(joinPath(path, f), "out of range (got %s), clamped to %s", lf.format(&p), lf.format(&n))
	}
	d.semantic(path, &n)
	d.checkNames(path, &n)
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

// decodeObject decodes the members of the JSON object raw into the fields
// fs of r. A null object leaves r as it is. ok is false when raw is not an
// object.
func decodeObject[R any](d *docDecoder, path string, fs []*field[R], r *R, raw json.RawMessage) (ok bool) {
	if isNull(raw) {
		return true
	}
	ms, ok := d.members(path, raw)
	if !ok {
		return false
	}
	decodeMembers(d, path, fs, r, ms, nil)
	return true
}

// decodeMembers decodes object members into the fields fs of r. extra
// names members the caller handled, for the "unknown field" message.
func decodeMembers[R any](d *docDecoder, path string, fs []*field[R], r *R, ms []member, extra []string) {
	for _, m := range ms {
		fp := joinPath(path, m.name)
		f := lookupField(fs, m.name)
		if f == nil {
			all := append(append([]string(nil), extra...), names(fs)...)
			d.fail(fp, "unknown field (want %s)%s", orList(all), suggest.Hint(m.name, all))
			continue
		}
		if isNull(m.raw) {
			// null is the same as leaving the field out.
			continue
		}
		decodeField(d, fp, f, r, m.raw)
	}
}

// decodeField decodes one present, non-null member.
func decodeField[R any](d *docDecoder, path string, f *field[R], r *R, raw json.RawMessage) {
	switch f.kind {
	case kindBool:
		*f.boolp(r) = d.boolean(path, raw)
	case kindInt:
		if v, ok := d.integer(path, raw); ok {
			*f.intp(r) = v
			checkNumber(d, path, f, r)
		}
	case kindFloat:
		if v, ok := d.number(path, raw); ok {
			*f.floatp(r) = v
			checkNumber(d, path, f, r)
		}
	case kindDuration:
		if v, ok := d.duration(path, raw); ok {
			*f.durp(r) = v
			checkNumber(d, path, f, r)
		}
	case kindString:
		*f.strp(r), _ = d.str(path, raw)
	case kindEnum:
		if s, ok := d.str(path, raw); ok {
			*f.strp(r) = checkEnum(d, path, f, s)
		}
	case kindObject:
		decodeObject(d, path, f.sub, r, raw)
	case kindGates:
		decodeGates(d, path, f.gatesp(r), raw)
	}
}

// checkNumber applies the document rules to a decoded number: a negative
// value or one far above the range is an error (the field is then reset to
// zero, its default, so that the rest of the policy is still checked), and
// an explicit zero that means a non-zero default is a warning.
func checkNumber[R any](d *docDecoder, path string, f *field[R], r *R) {
	if !d.strict {
		return
	}
	v := f.number(r)
	switch {
	case v < 0:
		d.fail(path, "must not be negative (got %s)", f.formatNumber(v))
		f.setNumber(r, 0)
	case v > f.rule.errLimit():
		d.fail(path, "far out of range (got %s, at most %s)", f.formatNumber(v), f.formatNumber(f.rule.hi))
		f.setNumber(r, 0)
	case v == 0 && f.rule.zero == zeroDefault:
		d.warn(path, "%s means the default (%s); leave the field out to mean the default", f.formatNumber(0), defaultText(f))
	}
}

// errLimit is the value above which a document's value is an error.
func (r rule) errLimit() float64 {
	if r.errAbove != 0 {
		return r.errAbove
	}
	return 10 * r.hi
}

// checkEnum applies the document rules to an enum value and returns the
// value to keep: an unknown value of a closed enum is an error (the field
// then takes its default); an unknown value of an open one (a hedge
// trigger) is a warning when it looks like a typo of a built-in name.
func checkEnum[R any](d *docDecoder, path string, f *field[R], s string) string {
	if !d.strict || s == "" || f.known(s) {
		return s
	}
	if !f.open {
		d.fail(path, "%s", unknownEnumMsg(f, s))
		return ""
	}
	if blank(s) {
		d.fail(path, "blank %s name", f.noun)
		return ""
	}
	if d.opts.Triggers == nil {
		if near, ok := suggest.Nearest(s, f.enum); ok {
			d.warn(path, "%q is not a built-in %s (%s); did you mean %q? Any other name must be registered with package hedge",
				s, f.noun, orList(f.enum), near)
		}
	}
	return s
}

// decodeGates decodes the list of user gates.
func decodeGates(d *docDecoder, path string, dst *[]GateRef, raw json.RawMessage) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		d.fail(path, "want a list of gates such as [{\"name\": \"quota\"}], got %s", truncate(raw))
		return
	}
	out := make([]GateRef, 0, len(items))
	for i, it := range items {
		ip := path + "[" + strconv.Itoa(i) + "]"
		var g GateRef
		if isNull(it) {
			d.fail(ip, "want an object, got null")
			continue
		}
		decodeObject(d, ip, gateFields, &g, it)
		out = append(out, g)
	}
	*dst = out
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
