package serve

import (
	"context"
	"log/slog"
	"net/http"
)

// Options wire a function into its handler.
type Options struct {
	Log *slog.Logger
	// Guard authenticates and authorizes the public routes (infra/auth's policy middleware: public
	// allow-list, token verification, bans, role rules, rate limits). nil serves the routes unguarded,
	// which only tests of pure routing may do.
	Guard func(http.Handler) http.Handler
}

// Mount builds the handler of one function, shaped like a Knative Service: POST / receives CloudEvents
// from triggers (when events is not nil) and routes registers the function's public routes.
// POST / is never exposed by the public ingress; only the broker's dispatchers reach it.
func Mount(ctx context.Context, opts Options, routes func(mux *http.ServeMux), events EventHandler) (http.Handler, error) {
	public := http.NewServeMux()
	if routes != nil {
		routes(public)
	}
	var guarded http.Handler = public
	if opts.Guard != nil {
		guarded = opts.Guard(public)
	}
	root := http.NewServeMux()
	root.Handle("/", guarded)
	if events != nil {
		ce, err := Events(opts.Log, events)
		if err != nil {
			return nil, err
		}
		root.Handle("POST /{$}", ce)
	}
	return root, nil
}
