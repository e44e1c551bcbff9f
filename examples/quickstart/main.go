// Command quickstart is the README's quick start, verbatim: it must keep
// compiling and running as the README shows it.
package main

import (
	"context"

	"github.com/aponysus/rego/rego"
)

type User struct{ ID string }

func main() {
	ctx := context.Background()

	user, err := rego.DoValue[User](ctx, "user-service.GetUser", func(ctx context.Context) (User, error) {
		// call dependency here
		return User{ID: "123"}, nil
	})
	_ = user
	_ = err
}
