package inspect

import (
	"context"
	"expvar"
)

// PublishExpvar publishes the Inspector's Snapshot in expvar under name,
// so that a program serving /debug/vars (expvar's handler) shows the same
// JSON as the page. Like expvar.Publish, it panics if name is already
// published.
func (in *Inspector) PublishExpvar(name string) {
	expvar.Publish(name, expvar.Func(func() any { return in.Snapshot(context.Background()) }))
}
