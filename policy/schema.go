package policy

import (
	"encoding/json"
	"strings"
)

// JSONSchema returns the JSON Schema (draft 2020-12) of policy documents,
// generated from the field table; docs/policy.schema.json is its output
// (`rego schema` prints it). Editors use it to flag unknown fields, wrong
// types and values out of range while a document is written. The schema
// marks every value out of range as wrong, although DecodeDocument clamps
// the ones not far out (with a warning).
func JSONSchema() []byte {
	defs := map[string]any{
		"duration": map[string]any{
			"description": "A Go duration string: a sequence of decimal numbers with units ns, us, µs, ms, s, m, h (\"250ms\", \"1m30s\"). Negative durations are errors.",
			"type":        []string{"string", "null"},
			"pattern":     `^((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^\+?0$`,
		},
		"policy": map[string]any{
			"description":          "One call site's policy. Every field may be left out (or null) and then takes its default.",
			"type":                 "object",
			"additionalProperties": false,
			"properties":           propertiesSchema(policyFields, nil),
		},
	}
	walkObjects(policyFields, func(f *field[EffectivePolicy]) {
		if f.ref != "" {
			def := objectSchema(f, nil)
			def["description"] = budgetDoc
			defs[f.ref] = def
		}
	})
	doc := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://github.com/aponysus/rego/docs/policy.schema.json",
		"title":                "rego policy document",
		"description":          "Policies for rego call sites, keyed by \"namespace.name\". Durations are Go duration strings such as \"250ms\" or \"1m30s\". See docs/policies.md. Generated from the policy package's field table (rego schema).",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"version"},
		"properties": map[string]any{
			documentFields[0]: map[string]any{"type": "string", "description": "Lets editors find this schema; ignored."},
			documentFields[1]: map[string]any{
				"description": "Identifies the document; recorded in every timeline as policy_version.",
				"type":        "string", "minLength": 1, "maxLength": MaxVersionLen, "pattern": `^[^\s]+$`,
			},
			documentFields[2]: map[string]any{
				"description": "The policy for keys the document does not name. Without it such keys have no policy and the executor applies its MissingPolicyMode.",
				"oneOf":       []any{map[string]any{"$ref": "#/$defs/policy"}, map[string]any{"type": "null"}},
			},
			documentFields[3]: map[string]any{
				"description":          "Each call site's policy, by key.",
				"type":                 []string{"object", "null"},
				"propertyNames":        map[string]any{"pattern": `^[^.\s](.*[^.\s])?$`},
				"additionalProperties": map[string]any{"$ref": "#/$defs/policy"},
			},
		},
		"$defs": defs,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("policy: schema does not encode: " + err.Error())
	}
	return append(b, '\n')
}

// walkObjects calls fn for every object field under fs.
func walkObjects[R any](fs []*field[R], fn func(*field[R])) {
	for _, f := range fs {
		if f.kind == kindObject {
			fn(f)
			walkObjects(f.sub, fn)
		}
	}
}

func propertiesSchema[R any](fs []*field[R], _ *R) map[string]any {
	props := map[string]any{}
	for _, f := range fs {
		props[f.name] = fieldSchema(f)
	}
	return props
}

func objectSchema[R any](f *field[R], r *R) map[string]any {
	return map[string]any{
		"description":          f.doc,
		"type":                 []string{"object", "null"},
		"additionalProperties": false,
		"properties":           propertiesSchema(f.sub, r),
	}
}

// fieldSchema is the schema of one field.
func fieldSchema[R any](f *field[R]) map[string]any {
	s := map[string]any{"description": describe(f)}
	r := f.rule
	switch f.kind {
	case kindBool:
		s["type"] = []string{"boolean", "null"}
	case kindInt, kindFloat:
		if f.kind == kindInt {
			s["type"] = []string{"integer", "null"}
		} else {
			s["type"] = []string{"number", "null"}
		}
		switch {
		case r.zero == zeroOff:
			s["minimum"] = 0
		case r.loOpen:
			s["exclusiveMinimum"] = r.lo
		default:
			s["minimum"] = r.lo
		}
		s["maximum"] = r.hi
		if r.zero == zeroDefault && r.defFrom == "" {
			s["default"] = r.def
		}
	case kindDuration:
		s["$ref"] = "#/$defs/duration"
	case kindString:
		s["type"] = []string{"string", "null"}
	case kindEnum:
		if f.open {
			s["type"] = []string{"string", "null"}
			s["examples"] = f.enum
		} else {
			vals := make([]any, 0, len(f.enum)+1)
			for _, v := range f.enum {
				vals = append(vals, v)
			}
			s["enum"] = append(vals, nil)
		}
		s["default"] = f.enumDef
	case kindObject:
		if f.ref != "" {
			return map[string]any{"description": f.doc, "$ref": "#/$defs/" + f.ref}
		}
		return objectSchema[R](f, nil)
	case kindGates:
		s["type"] = []string{"array", "null"}
		s["items"] = map[string]any{
			"type":                 "object",
			"additionalProperties": false,
			"required":             []string{"name"},
			"properties":           propertiesSchema(gateFields, nil),
		}
	}
	return s
}

// describe is a field's doc with its default and range.
func describe[R any](f *field[R]) string {
	var b strings.Builder
	b.WriteString(f.doc)
	if d := defaultCell(f); d != "" {
		b.WriteString(" Default: " + strings.ReplaceAll(d, "`", "") + ".")
	}
	if f.numeric() {
		b.WriteString(" Range: " + rangeText(f) + ".")
	}
	return b.String()
}

// defaultCell is the default of a field as docs/policies.md shows it.
func defaultCell[R any](f *field[R]) string {
	switch f.kind {
	case kindBool:
		return "false"
	case kindInt, kindFloat, kindDuration:
		if f.rule.zero == zeroOff {
			return f.rule.zeroText
		}
		t := defaultText(f)
		if f.kind == kindDuration && f.rule.zero == zeroDefault && f.rule.defFrom == "" {
			t = `"` + t + `"`
		}
		return "`" + t + "`"
	case kindEnum:
		return "`\"" + f.enumDef + "\"`"
	case kindGates:
		return "none"
	}
	return ""
}

// rangeCell is the range of a field as docs/policies.md shows it.
func rangeCell[R any](f *field[R]) string {
	switch f.kind {
	case kindInt, kindFloat, kindDuration:
		t := rangeText(f)
		if f.rule.zero == zeroOff && !f.rule.loOpen && f.rule.lo != 0 {
			t += ", or 0"
		}
		return t
	case kindEnum:
		q := make([]string, len(f.enum))
		for i, v := range f.enum {
			q[i] = "`" + v + "`"
		}
		t := strings.Join(q, ", ")
		if f.open {
			t += " or a registered name"
		}
		return t
	}
	return ""
}

// fieldTableMarkdown is the field table of docs/policies.md.
func fieldTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| field | default | range | meaning |\n|---|---|---|---|\n")
	row := func(path, def, rng, doc string) {
		b.WriteString("| `" + path + "` | " + def + " | " + rng + " | " + doc + " |\n")
	}
	walk(policyFields, func(f *field[EffectivePolicy]) {
		row(f.path, defaultCell(f), rangeCell(f), f.doc)
		if f.kind == kindGates {
			for _, g := range gateFields {
				row(f.path+"[]."+g.name, defaultCell(g), rangeCell(g), g.doc)
			}
		}
	})
	return b.String()
}
