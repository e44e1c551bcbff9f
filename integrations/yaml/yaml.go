package regoyaml

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/aponysus/rego/policy"
	"go.yaml.in/yaml/v3"
)

// maxNodes bounds the nodes one document may expand to. Aliases can make
// a small document expand exponentially ("billion laughs"); no real policy
// document comes near this.
const maxNodes = 1 << 20

// DecodeDocument parses a YAML policy document, converts it to the JSON
// form and decodes that with policy.DecodeDocument. Every error, including
// malformed YAML, is a *policy.DocumentError wrapping
// policy.ErrInvalidDocument.
func DecodeDocument(data []byte) (*policy.Document, error) {
	j, err := ToJSON(data)
	if err != nil {
		return nil, &policy.DocumentError{Problems: []policy.Problem{{
			Path: "document", Severity: policy.SeverityError, Msg: err.Error(),
		}}}
	}
	return policy.DecodeDocument(j)
}

// ToJSON converts one YAML document to JSON, keeping the order of mapping
// keys (so problems are reported in document order) and duplicate keys (so
// the decoder reports them). Scalars keep their YAML type, except that
// timestamps stay the text that was written: an unquoted version such as
// 2024-06-01 must not turn into a time. An empty input gives empty output.
func ToJSON(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("malformed YAML: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document (want exactly one)")
	}
	c := converter{}
	if err := c.node(&root, 0); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

type converter struct {
	buf   bytes.Buffer
	nodes int
}

func (c *converter) node(n *yaml.Node, depth int) error {
	c.nodes++
	if c.nodes > maxNodes {
		return fmt.Errorf("document expands to more than %d nodes", maxNodes)
	}
	if depth > 100 {
		return errors.New("document nested more than 100 levels deep")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: empty YAML document", n.Line)
		}
		return c.node(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return fmt.Errorf("line %d: unknown alias", n.Line)
		}
		return c.node(n.Alias, depth+1)
	case yaml.MappingNode:
		c.buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			for k.Kind == yaml.AliasNode && k.Alias != nil {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: mapping key is not a plain value", k.Line)
			}
			if k.Tag == "!!merge" {
				return fmt.Errorf("line %d: merge keys (<<) are not supported: write the fields out", k.Line)
			}
			if i > 0 {
				c.buf.WriteByte(',')
			}
			c.str(k.Value)
			c.buf.WriteByte(':')
			if err := c.node(v, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, v := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			if err := c.node(v, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func (c *converter) scalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		c.str(n.Value)
	case "!!null":
		c.buf.WriteString("null")
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		c.buf.WriteString(strconv.FormatBool(b))
	case "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		c.buf.Write(b)
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("line %d: %s has no JSON form", n.Line, n.Value)
		}
		c.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		return fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, n.ShortTag())
	}
	return nil
}

func (c *converter) str(s string) {
	b, _ := json.Marshal(s) // a string always marshals
	c.buf.Write(b)
}
