package policy

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// This file defines the shape of the field table (fields.go): every policy
// field is declared there once, and decoding, normalising, warnings,
// encoding and the JSON Schema all read the declaration.

// valueKind is how a field is written in a document.
type valueKind int

const (
	kindBool valueKind = iota
	kindInt
	kindFloat
	kindDuration
	kindString
	kindEnum   // a string from a fixed list (or, when open, any name)
	kindObject // a nested object of fields (a section, a budget)
	kindGates  // the list of user gates
)

// zeroMeaning says what a zero number means.
type zeroMeaning int

const (
	// zeroDefault: zero (or leaving the field out) means the default.
	zeroDefault zeroMeaning = iota
	// zeroOff: zero means "off", "none" or "at once", a valid value
	// outside the range of the positive ones.
	zeroOff
)

// rule is a numeric field's default and range. Numbers are held as
// float64: every bound and default is exact in it.
type rule struct {
	zero zeroMeaning
	// zeroText says what zero means for a zeroOff field ("none").
	zeroText string
	def      float64
	// defFrom, when set, names the field whose normalised value is the
	// default ("rate_limit.rate" for the burst).
	defFrom string
	// defMin raises a defFrom default to at least this.
	defMin float64
	// lo and hi bound the value; loFrom and hiFrom name a field of the
	// same policy that bounds it further (the range is then
	// [max(lo, loFrom), min(hi, hiFrom)]).
	lo, hi         float64
	loFrom, hiFrom string
	// loOpen excludes lo itself: (lo, hi].
	loOpen bool
	// errAbove: in a document a value above it is an error, not a clamp
	// (a digit or unit mistake). Zero means ten times hi.
	errAbove float64
}

// field is one entry of the table. R is what its accessors read: an
// EffectivePolicy, or a GateRef for the items of the gates list.
type field[R any] struct {
	path string // JSON path in a policy: "retry.budget.cost"
	name string // the last element of path
	kind valueKind
	doc  string
	rule rule

	// The accessor matching kind.
	boolp  func(*R) *bool
	intp   func(*R) *int
	floatp func(*R) *float64
	durp   func(*R) *time.Duration
	strp   func(*R) *string
	gatesp func(*R) *[]GateRef

	// kindEnum: the values, the default, the noun for messages, and
	// whether other names are allowed (hedge triggers may be registered).
	enum    []string
	enumDef string
	noun    string
	open    bool

	// kindObject: the nested fields and the schema definition they share.
	sub []*field[R]
	ref string

	// required: the field must be present and non-empty (a gate's name).
	required bool

	// A section's test for being empty and its filling with its defaults
	// (sectionOf), and its leaves in table order.
	empty  func(*R) bool
	fill   func(*R)
	leaves []*field[R]

	// The fields rule.loFrom, rule.hiFrom and rule.defFrom name, resolved
	// once (fields.go) so that Normalize looks nothing up.
	loF, hiF, defF *field[R]
}

// number returns a numeric field's value.
func (f *field[R]) number(r *R) float64 {
	switch f.kind {
	case kindInt:
		return float64(*f.intp(r))
	case kindFloat:
		return *f.floatp(r)
	case kindDuration:
		return float64(*f.durp(r))
	}
	return 0
}

// setNumber sets a numeric field. v is a bound, a default or a value
// that came from the field, so the conversion back is exact.
func (f *field[R]) setNumber(r *R, v float64) {
	switch f.kind {
	case kindInt:
		*f.intp(r) = int(v)
	case kindFloat:
		*f.floatp(r) = v
	case kindDuration:
		*f.durp(r) = time.Duration(v)
	}
}

func (f *field[R]) numeric() bool {
	return f.kind == kindInt || f.kind == kindFloat || f.kind == kindDuration
}

// isZero reports whether the field holds its zero value.
func (f *field[R]) isZero(r *R) bool {
	switch f.kind {
	case kindBool:
		return !*f.boolp(r)
	case kindInt, kindDuration:
		return f.number(r) == 0
	case kindFloat:
		return *f.floatp(r) == 0 && !math.Signbit(*f.floatp(r))
	case kindString, kindEnum:
		return *f.strp(r) == ""
	case kindObject:
		for _, s := range f.sub {
			if !s.isZero(r) {
				return false
			}
		}
		return true
	}
	return true
}

// format renders the field's value as a document would write it, for
// warnings, diffs and the CLI; a zero that means "off" or "none" is
// written as that word.
func (f *field[R]) format(r *R) string {
	switch f.kind {
	case kindBool:
		return strconv.FormatBool(*f.boolp(r))
	case kindInt, kindFloat, kindDuration:
		v := f.number(r)
		if v == 0 && f.rule.zero == zeroOff {
			return f.rule.zeroText
		}
		return f.formatNumber(v)
	case kindString, kindEnum:
		return strconv.Quote(*f.strp(r))
	}
	return ""
}

// formatNumber renders v in the field's unit.
func (f *field[R]) formatNumber(v float64) string {
	switch f.kind {
	case kindDuration:
		return formatDuration(time.Duration(v))
	case kindInt:
		return strconv.FormatInt(int64(v), 10)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatDuration is time.Duration.String without the zero units it
// appends ("1m" rather than "1m0s"); the result parses back to d.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Constructors, one per kind. Their path is split into its name here so
// that the table says each path once.

func lastName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func boolField[R any](path string, p func(*R) *bool, doc string) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindBool, boolp: p, doc: doc}
}

func intField[R any](path string, p func(*R) *int, r rule, doc string) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindInt, intp: p, rule: r, doc: doc}
}

func floatField[R any](path string, p func(*R) *float64, r rule, doc string) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindFloat, floatp: p, rule: r, doc: doc}
}

func durField[R any](path string, p func(*R) *time.Duration, r rule, doc string) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindDuration, durp: p, rule: r, doc: doc}
}

func strField[R any](path string, p func(*R) *string, doc string) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindString, strp: p, doc: doc}
}

func enumField[R any](path string, p func(*R) *string, noun string, values []string, def string, open bool, doc string) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindEnum, strp: p, noun: noun,
		enum: values, enumDef: def, open: open, doc: doc}
}

func objectField[R any](path, ref, doc string, sub ...*field[R]) *field[R] {
	return &field[R]{path: path, name: lastName(path), kind: kindObject, ref: ref, sub: sub, doc: doc}
}

// known reports whether v is one of an enum field's values.
func (f *field[R]) known(v string) bool {
	for _, e := range f.enum {
		if e == v {
			return true
		}
	}
	return false
}

// names lists the fields' names, for "unknown field" messages.
func names[R any](fs []*field[R]) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out
}

// lookupField returns the field called name among fs.
func lookupField[R any](fs []*field[R], name string) *field[R] {
	for _, f := range fs {
		if f.name == name {
			return f
		}
	}
	return nil
}

// walk calls fn for every leaf field under fs, depth first, in table
// order.
func walk[R any](fs []*field[R], fn func(*field[R])) {
	for _, f := range fs {
		if f.kind == kindObject {
			walk(f.sub, fn)
			continue
		}
		fn(f)
	}
}

// orList writes "a, b or c".
func orList(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// defaultText describes the default of a numeric field.
func defaultText[R any](f *field[R]) string {
	r := f.rule
	switch {
	case r.zero == zeroOff:
		return r.zeroText
	case r.defFrom != "" && r.defMin != 0:
		return "max(" + f.formatNumber(r.defMin) + ", " + r.defFrom + ")"
	case r.defFrom != "":
		return r.defFrom
	}
	return f.formatNumber(r.def)
}

// rangeText describes the range of a numeric field: "1..10",
// "initial_backoff..5m", "(0, 1]".
func rangeText[R any](f *field[R]) string {
	r := f.rule
	lo, hi := f.formatNumber(r.lo), f.formatNumber(r.hi)
	if r.loFrom != "" {
		// The bounding fields never go below lo themselves.
		lo = r.loFrom
	}
	if r.hiFrom != "" {
		hi = r.hiFrom
	}
	if r.loOpen {
		return "(" + lo + ", " + hi + "]"
	}
	return lo + ".." + hi
}
