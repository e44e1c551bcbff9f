package regogrpc

import (
	"sync"
	"sync/atomic"

	"github.com/aponysus/rego/policy"
	"github.com/aponysus/rego/rego"
	"github.com/aponysus/rego/retry"
)

// Defaults for the stream buffer.
const (
	// DefaultStreamBufferBytes matches the per-call retry buffer gRFC A6
	// suggests.
	DefaultStreamBufferBytes = 256 << 10
	// DefaultStreamBufferMessages bounds the messages buffered before
	// commit whatever their size.
	DefaultStreamBufferMessages = 128
)

// Options configures the interceptors. The zero value works: calls run on
// rego.Default(), keyed by MethodKey, judged by the gRFC A6 defaults.
type Options struct {
	// Executor runs the calls. If nil, rego.Default() at the time of each
	// call, so that rego.Init after the interceptor is built takes effect.
	Executor *retry.Executor
	// KeyFunc maps the full method name ("/pkg.Service/Method") to the
	// policy key. It must return low-cardinality keys. If nil, MethodKey.
	KeyFunc func(fullMethod string) policy.PolicyKey
	// Filter, when set, picks the methods run through rego; calls for
	// which it returns false go straight to gRPC. If nil, every method.
	Filter func(fullMethod string) bool
	// Classifier says which attempts are retried; see ClassifierOptions
	// for its zero value.
	Classifier ClassifierOptions
	// StreamBufferBytes bounds the size (proto.Size) of the messages a
	// stream buffers before commit for replay on a retried attempt; the
	// message that would exceed it commits the stream to its current
	// attempt. Zero means DefaultStreamBufferBytes; negative means no
	// buffer, so a stream commits at its first message.
	StreamBufferBytes int
	// StreamBufferMessages bounds the number of messages buffered before
	// commit, for messages whose size is unknown (not proto messages) as
	// much as for many small ones. Zero means DefaultStreamBufferMessages;
	// negative means no buffer.
	StreamBufferMessages int
}

// config is Options with the defaults filled in.
type config struct {
	exec     *retry.Executor
	keyFunc  func(string) policy.PolicyKey
	keys     *keyCache // MethodKey's results, when KeyFunc is nil
	filter   func(string) bool
	cls      *Classifier
	bufBytes int
	bufMsgs  int
}

func newConfig(o Options) *config {
	c := &config{
		exec:     o.Executor,
		keyFunc:  o.KeyFunc,
		filter:   o.Filter,
		cls:      NewClassifier(o.Classifier),
		bufBytes: o.StreamBufferBytes,
		bufMsgs:  o.StreamBufferMessages,
	}
	if c.keyFunc == nil {
		c.keyFunc = MethodKey
		c.keys = &keyCache{}
	}
	switch {
	case c.bufBytes == 0:
		c.bufBytes = DefaultStreamBufferBytes
	case c.bufBytes < 0:
		c.bufBytes = 0
	}
	switch {
	case c.bufMsgs == 0:
		c.bufMsgs = DefaultStreamBufferMessages
	case c.bufMsgs < 0:
		c.bufMsgs = 0
	}
	return c
}

func (c *config) executor() *retry.Executor {
	if c.exec != nil {
		return c.exec
	}
	return rego.Default()
}

// keyFor returns the policy key of a call to method. MethodKey's keys are
// cached per method: building one costs a string concatenation per call. A
// caller's KeyFunc runs on every call, as documented.
func (c *config) keyFor(method string) policy.PolicyKey {
	if c.keys == nil {
		return c.keyFunc(method)
	}
	return c.keys.get(method)
}

// maxCachedKeys bounds the key cache: a client calls a fixed set of
// methods, but a caller passing made-up method names must not grow it
// without limit.
const maxCachedKeys = 1024

// keyCache maps full method names to their MethodKey.
type keyCache struct {
	m sync.Map // string -> *policy.PolicyKey
	n atomic.Int32
}

func (k *keyCache) get(method string) policy.PolicyKey {
	if v, ok := k.m.Load(method); ok {
		return *v.(*policy.PolicyKey)
	}
	key := MethodKey(method)
	if k.n.Load() < maxCachedKeys {
		if _, loaded := k.m.LoadOrStore(method, &key); !loaded {
			k.n.Add(1)
		}
	}
	return key
}
