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

	"github.com/aponysus/rego/internal/suggest"
)

// documentFields are the members of a document.
var documentFields = []string{"$schema", "version", "default", "policies"}

// MaxVersionLen bounds a document's version string: it travels into every
// timeline and HTTP header, so it must stay short.
const MaxVersionLen = 128

// DecodeDocument parses, validates and normalises a JSON policy document.
// It is DecodeOptions{}.Decode(data): names of budgets, gates,
// classifiers and triggers are not checked against a registry.
//
// Every policy is normalised once, here: defaults are filled in, values out
// of range are clamped and reported in Document.Warnings, Meta.Version is
// set to the document's version and Meta.Source to SourceUnknown (providers
// stamp their own source with SetSource).
//
// Problems that cannot be repaired (malformed JSON, an unknown field, a
// wrong type, a bad duration, a negative number, a value far out of range,
// an unknown jitter kind or algorithm, a bad or duplicate key, a missing
// version) are all collected, each naming its exact path, and returned as a
// *DocumentError wrapping ErrInvalidDocument; the document is then nil.
// docs/policies.md gives the rules. DecodeDocument never panics.
func DecodeDocument(data []byte) (*Document, error) {
	return DecodeOptions{}.Decode(data)
}

// DecodeOptions says what a program registers, so that a document naming
// anything else is rejected before it ships (rego validate -budgets, -gates,
// -classifiers and -triggers). The zero value checks no names.
type DecodeOptions struct {
	// Budgets lists the budget names the program registers. Nil means
	// budget names are not checked; an empty, non-nil list means the
	// program registers none.
	Budgets []string
	// Gates lists the user gate names; nil means not checked.
	Gates []string
	// Classifiers lists the classifier names; nil means not checked.
	Classifiers []string
	// Triggers lists the hedge triggers registered besides the built-in
	// ones; nil means not checked (an unknown trigger close to a built-in
	// name still gets a warning).
	Triggers []string
}

// Decode is DecodeDocument with the name checks of o: a policy naming a
// budget, gate, classifier or trigger the lists do not hold is an error.
func (o DecodeOptions) Decode(data []byte) (*Document, error) {
	d := &docDecoder{strict: true, opts: o}
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

// docDecoder collects the problems of one decoding.
type docDecoder struct {
	problems []Problem
	failed   bool
	// strict applies the rules of documents (ranges, enums, zero
	// warnings, semantic checks). Without it, only the form is checked: the
	// JSON methods of the policy types decode that way.
	strict bool
	opts   DecodeOptions
	// bad holds the paths that had an error, so that checks relating two
	// fields skip a field whose value is unknown.
	bad map[string]bool
}

func (d *docDecoder) fail(path, format string, args ...any) {
	d.failed = true
	if d.bad == nil {
		d.bad = map[string]bool{}
	}
	d.bad[path] = true
	d.problems = append(d.problems, Problem{Path: path, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)})
}

func (d *docDecoder) warn(path, format string, args ...any) {
	d.problems = append(d.problems, Problem{Path: path, Severity: SeverityWarning, Msg: fmt.Sprintf(format, args...)})
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
			d.fail(m.name, "unknown field (want %s)%s", orList(documentFields[1:]), suggest.Hint(m.name, documentFields))
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
		keyOK := false
		switch {
		case m.name == "":
			d.fail(path, "empty key")
		case strings.TrimSpace(m.name) != m.name:
			d.fail(path, "key has surrounding spaces")
		case key.Name == "":
			d.fail(path, "key has an empty name (want \"namespace.name\")")
		case key.String() != m.name:
			d.fail(path, "key is not in canonical form (want %q)", key.String())
		default:
			keyOK = true
		}
		// A bad key does not hide the problems of its policy.
		p, ok := d.policy(path, m.raw)
		if !ok || !keyOK {
			continue
		}
		p.Key = key
		doc.Policies[key] = p
	}
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

func (d *docDecoder) integer(path string, raw json.RawMessage) (int, bool) {
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(path, "want an integer, got %s", truncate(raw))
		return 0, false
	}
	return v, true
}

func (d *docDecoder) number(path string, raw json.RawMessage) (float64, bool) {
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(path, "want a number, got %s", truncate(raw))
		return 0, false
	}
	return v, true
}

func (d *docDecoder) boolean(path string, raw json.RawMessage) bool {
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(path, "want true or false, got %s", truncate(raw))
		return false
	}
	return v
}

func (d *docDecoder) duration(path string, raw json.RawMessage) (time.Duration, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(path, "want a duration string such as \"250ms\", got %s", truncate(raw))
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.fail(path, "invalid duration %q (want a duration string such as \"250ms\")", s)
		return 0, false
	}
	return v, true
}
