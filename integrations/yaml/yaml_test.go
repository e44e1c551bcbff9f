package regoyaml_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	regoyaml "github.com/aponysus/rego/integrations/yaml"
	"github.com/aponysus/rego/policy"
)

const yamlDoc = `
# Policies for the payments fleet.
version: "2024-06-01.1"
default:
  retry: {max_attempts: 2}
policies:
  payments.Charge:
    id: charge-v3
    retry:
      max_attempts: 5
      initial_backoff: 50ms
      max_backoff: 2s
      backoff_multiplier: 1.5
      jitter: decorrelated
      timeout_per_attempt: 800ms
      overall_timeout: 5s
      classifier: http
      budget: {name: payments, cost: 2}
    hedge:
      enabled: true
      max_hedges: 2
      trigger: p95
      delay: 30ms
      budget: {name: hedges}
      cancel_on_non_retryable: true
  inventory.Reserve: {}
`

const jsonDoc = `{
  "version": "2024-06-01.1",
  "default": {"retry": {"max_attempts": 2}},
  "policies": {
    "payments.Charge": {
      "id": "charge-v3",
      "retry": {"max_attempts": 5, "initial_backoff": "50ms", "max_backoff": "2s",
                "backoff_multiplier": 1.5, "jitter": "decorrelated",
                "timeout_per_attempt": "800ms", "overall_timeout": "5s",
                "classifier": "http", "budget": {"name": "payments", "cost": 2}},
      "hedge": {"enabled": true, "max_hedges": 2, "trigger": "p95", "delay": "30ms",
                "budget": {"name": "hedges"}, "cancel_on_non_retryable": true}
    },
    "inventory.Reserve": {}
  }
}`

func TestYAMLMatchesJSON(t *testing.T) {
	y, err := regoyaml.DecodeDocument([]byte(yamlDoc))
	if err != nil {
		t.Fatal(err)
	}
	j, err := policy.DecodeDocument([]byte(jsonDoc))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, j) {
		t.Fatalf("YAML and JSON documents differ:\n%+v\n%+v", y, j)
	}
}

// The same mistakes give the same problems, at the same paths, as in JSON.
func TestYAMLValidationIsTheCore(t *testing.T) {
	cases := []struct{ yaml, json string }{
		{"version: v1\npolicies:\n  payments.Charge:\n    retry: {jitter: wobbly}\n",
			`{"version":"v1","policies":{"payments.Charge":{"retry":{"jitter":"wobbly"}}}}`},
		{"version: v1\npolicies:\n  a.b:\n    retry: {max_atempts: 3, initial_backoff: 250}\n",
			`{"version":"v1","policies":{"a.b":{"retry":{"max_atempts":3,"initial_backoff":250}}}}`},
		{"version: v1\npolicies:\n  a.b: {}\n  a.b: {}\n",
			`{"version":"v1","policies":{"a.b":{},"a.b":{}}}`},
		{"version: 3\n", `{"version":3}`},
		{"policies: {}\n", `{"policies":{}}`},
		{"- a\n- b\n", `["a","b"]`},
		{"version: v1\ndefault: {hedge: {enabled: yes}}\n", `{"version":"v1","default":{"hedge":{"enabled":"yes"}}}`},
	}
	for _, c := range cases {
		_, yerr := regoyaml.DecodeDocument([]byte(c.yaml))
		_, jerr := policy.DecodeDocument([]byte(c.json))
		if yerr == nil || jerr == nil {
			t.Errorf("%q: yaml err %v, json err %v", c.yaml, yerr, jerr)
			continue
		}
		if yerr.Error() != jerr.Error() {
			t.Errorf("%q:\n yaml: %v\n json: %v", c.yaml, yerr, jerr)
		}
	}
}

func TestYAMLWarnings(t *testing.T) {
	d, err := regoyaml.DecodeDocument([]byte("version: v1\npolicies:\n  a.b: {retry: {max_attempts: 50}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) != 1 || d.Warnings[0].Path != `policies["a.b"].retry.max_attempts` {
		t.Fatalf("warnings %v", d.Warnings)
	}
}

func TestYAMLScalars(t *testing.T) {
	// An unquoted date stays the text written, not a time.
	d, err := regoyaml.DecodeDocument([]byte("version: 2024-06-01\npolicies:\n  a.b: {retry: {max_attempts: 0x4}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "2024-06-01" {
		t.Fatalf("version %q", d.Version)
	}
	if p, _ := d.Lookup(policy.ParseKey("a.b")); p.Retry.MaxAttempts != 4 {
		t.Fatalf("hex int: %d", p.Retry.MaxAttempts)
	}
	// Anchors and aliases work.
	d, err = regoyaml.DecodeDocument([]byte("version: v1\ndefault: &base {retry: {max_attempts: 4}}\npolicies:\n  a.b: *base\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := d.Lookup(policy.ParseKey("a.b")); p.Retry.MaxAttempts != 4 {
		t.Fatalf("alias: %d", p.Retry.MaxAttempts)
	}
}

func TestYAMLErrors(t *testing.T) {
	cases := map[string]string{
		"version: v1\n  bad: indent\n":                                 "malformed YAML",
		"version: v1\n---\nversion: v2\n":                              "more than one YAML document",
		"version: v1\ndefault: {retry: {backoff_multiplier: .inf}}\n":  "no JSON form",
		"version: v1\ndefault: {retry: {classifier: !!binary aGk=}}\n": "unsupported YAML tag",
		"version: v1\n? [a, b]\n: c\n":                                 "mapping key",
		"version: v1\nbase: &b {x: 1}\ndefault:\n  <<: *b\n":           "merge keys",
		"": "empty document",
	}
	for in, want := range cases {
		_, err := regoyaml.DecodeDocument([]byte(in))
		var de *policy.DocumentError
		if !errors.As(err, &de) || !errors.Is(err, policy.ErrInvalidDocument) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want a DocumentError containing %q", in, err, want)
		}
	}
}

func TestYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: v1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := regoyaml.DecodeDocument([]byte(b.String()))
	if err == nil {
		t.Fatal("alias bomb accepted")
	}
}

func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(yamlDoc))
	f.Add([]byte("version: v1\npolicies:\n  a.b: {retry: {jitter: x, max_attempts: 50}}\n"))
	f.Add([]byte("version: v1\ndefault: &b {hedge: {delay: -5s}}\npolicies: {a.b: *b}\n"))
	f.Add([]byte("[1, {a: b}, null, 1.5, true]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := regoyaml.DecodeDocument(data)
		if err != nil {
			var de *policy.DocumentError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a DocumentError: %v", err)
			}
			return
		}
		if d.Version == "" {
			t.Fatal("document without a version")
		}
	})
}

func ExampleDecodeDocument() {
	d, err := regoyaml.DecodeDocument([]byte(`
version: v7
policies:
  payments.Charge:
    retry: {max_attempts: 20, initial_backoff: 50ms}
`))
	if err != nil {
		panic(err)
	}
	p, _ := d.Lookup(policy.ParseKey("payments.Charge"))
	fmt.Println(p.Meta.Version, p.Retry.MaxAttempts, p.Retry.InitialBackoff)
	for _, w := range d.Warnings {
		fmt.Println(w)
	}
	_, err = regoyaml.DecodeDocument([]byte("version: v8\npolicies:\n  payments.Charge: {retry: {jitter: wobbly}}\n"))
	fmt.Println(err)
	// Output:
	// v7 10 50ms
	// warning: policies["payments.Charge"].retry.max_attempts: out of range (got 20), clamped to 10
	// policy: invalid document: policies["payments.Charge"].retry.jitter: unknown jitter kind (want none, full, equal or decorrelated)
}
