package policy

import (
	"bytes"
	"encoding/json"
	"sort"
)

// SourceFile marks policies loaded from a document on the local file
// system.
const SourceFile PolicySource = "file"

// Document is a policy document: the unit in which policies travel from
// outside the binary (a file, a control-plane server). Its JSON form is
//
//	{
//	  "version": "2024-06-01.1",
//	  "default": {"retry": {"max_attempts": 2}},
//	  "policies": {
//	    "payments.Charge": {"retry": {"max_attempts": 5, "jitter": "decorrelated"}}
//	  }
//	}
//
// with every policy field named as in the policy JSON form and durations as
// duration strings. See docs/policies.md for the full format.
//
// A Document returned by DecodeDocument is normalised and must be treated
// as immutable: providers hand its policies to many goroutines at once.
type Document struct {
	// Version identifies the document; providers report it and the
	// executor records it as policy_version. Required.
	Version string
	// Default, when non-nil, is the policy for keys the document does not
	// name. When nil such keys have no policy (ErrPolicyNotFound for the
	// provider, MissingPolicyMode for the executor).
	Default *EffectivePolicy
	// Policies holds each key's policy. Every policy's Key equals its map
	// key.
	Policies map[PolicyKey]EffectivePolicy
	// Warnings lists what DecodeDocument found suspicious but could load:
	// values clamped into range (with what they were and became), explicit
	// zeros that mean a default, values that together are most likely a
	// mistake (docs/policies.md lists them). Not encoded.
	Warnings []Problem
}

// Lookup returns the policy for key: its own, else the default with Key set
// to key. ok is false when the document has neither. Lookup does not
// allocate.
func (d *Document) Lookup(key PolicyKey) (p EffectivePolicy, ok bool) {
	if d == nil {
		return EffectivePolicy{}, false
	}
	if p, ok = d.Policies[key]; ok {
		return p, true
	}
	if d.Default != nil {
		p = *d.Default
		p.Key = key
		return p, true
	}
	return EffectivePolicy{}, false
}

// SetSource stamps src on every policy of d. Call it only before d is
// shared: it writes in place.
func (d *Document) SetSource(src PolicySource) {
	if d.Default != nil {
		d.Default.Meta.Source = src
	}
	for k, p := range d.Policies {
		p.Meta.Source = src
		d.Policies[k] = p
	}
}

// Keys returns the document's keys in sorted order.
func (d *Document) Keys() []PolicyKey {
	keys := make([]PolicyKey, 0, len(d.Policies))
	for k := range d.Policies {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}

// MarshalJSON writes the document form DecodeDocument reads. Policy keys
// and metadata are not written: the key is the map key, and metadata is
// set when a document is loaded.
func (d Document) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"version":`)
	v, _ := json.Marshal(d.Version)
	b.Write(v)
	if d.Default != nil {
		b.WriteString(`,"default":`)
		if err := encodeObject(&b, policyFields, d.Default); err != nil {
			return nil, err
		}
	}
	if len(d.Policies) > 0 {
		b.WriteString(`,"policies":{`)
		for i, k := range d.Keys() {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(k.String())
			b.Write(name)
			b.WriteByte(':')
			p := d.Policies[k]
			if err := encodeObject(&b, policyFields, &p); err != nil {
				return nil, err
			}
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes with DecodeDocument, so a Document inside a larger
// JSON value gets the same validation. Warnings are kept in d.Warnings.
func (d *Document) UnmarshalJSON(b []byte) error {
	doc, err := DecodeDocument(b)
	if err != nil {
		return err
	}
	*d = *doc
	return nil
}
