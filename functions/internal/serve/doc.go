// Package serve is the small runtime every Parley function shares: it turns a function into the
// http.Handler a Knative Service serves (POST / for CloudEvents from triggers, public /v1 routes,
// health), decodes requests strictly, and maps errors to HTTP and CloudEvents results in one place.
package serve
