// Package keto is Parley's client of Ory Keto, the authorization graph (system roles, bans, the mirror
// of conversation relations). Every call goes through a timeout and a circuit breaker, and an outage
// surfaces as ErrUnavailable, so callers can tell "Keto said no" from "Keto did not answer" and pick
// their degradation (fall back to PostgreSQL roles, or fail closed).
package keto

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	client "github.com/ory/keto-client-go"

	"github.com/parley-im/parley/infra/resilience"
)

// Namespaces and relations Parley writes (infra/platform/keto/namespaces.keto.ts defines them).
const (
	NamespaceUser         = "User"
	NamespaceRole         = "Role"
	NamespaceSystem       = "System"
	NamespaceConversation = "Conversation"

	// RelationMembers of Role:<role> are the users holding the role; of Conversation:<id>, its members.
	RelationMembers = "members"
	RelationOwners  = "owners"
	RelationAdmins  = "admins"
	// RelationBanned of System:parley lists banned users.
	RelationBanned = "banned"

	// SystemObject is the one System object.
	SystemObject = "parley"
	// RoleAdmin is the system administrator role (Role:admin#members).
	RoleAdmin = "admin"
)

// ErrUnavailable means Keto did not answer in time, answered 5xx, or its breaker is open.
var ErrUnavailable = errors.New("keto unavailable")

// Config of the client. Zero values take the documented defaults.
type Config struct {
	ReadURL  string // e.g. http://127.0.0.1:4466
	WriteURL string // e.g. http://127.0.0.1:4467
	// Timeout bounds one call; default 500ms (Keto answers a check in ~1ms on a healthy network).
	Timeout time.Duration
	// Breaker tunes the read and write breakers; defaults: 5 failures of 10 calls open it for 5s.
	Breaker    resilience.BreakerConfig
	HTTPClient *http.Client
	Log        *slog.Logger
}

// Client reads and writes relation tuples. It is safe for concurrent use.
type Client struct {
	read, write     *client.APIClient
	timeout         time.Duration
	readCB, writeCB circuitbreaker.CircuitBreaker[any]
}

// New builds a client; it does no I/O (Keto may start after us).
func New(cfg Config) (*Client, error) {
	if cfg.ReadURL == "" || cfg.WriteURL == "" {
		return nil, errors.New("keto: read and write URLs are required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		hc = &http.Client{Transport: t}
	}
	mk := func(url string) *client.APIClient {
		c := client.NewConfiguration()
		c.Servers = client.ServerConfigurations{{URL: url}}
		c.HTTPClient = hc
		c.UserAgent = "parley"
		return client.NewAPIClient(c)
	}
	isOutage := func(err error) bool { return errors.Is(err, ErrUnavailable) || resilience.IsOutage(err) }
	return &Client{
		read:    mk(cfg.ReadURL),
		write:   mk(cfg.WriteURL),
		timeout: cfg.Timeout,
		readCB:  resilience.Breaker[any]("keto-read", cfg.Breaker, isOutage, cfg.Log),
		writeCB: resilience.Breaker[any]("keto-write", cfg.Breaker, isOutage, cfg.Log),
	}, nil
}

// Check reports whether subjectID has relation (or permit) on namespace:object. A definitive "no" is
// (false, nil); ErrUnavailable means Keto could not be asked.
func (c *Client) Check(ctx context.Context, namespace, object, relation, subjectID string) (bool, error) {
	var allowed bool
	err := c.run(ctx, c.readCB, func(ctx context.Context) (*http.Response, error) {
		res, resp, err := c.read.PermissionApi.CheckPermission(ctx).Namespace(namespace).Object(object).
			Relation(relation).SubjectId(subjectID).Execute()
		if err == nil && res != nil {
			allowed = res.Allowed
		}
		return resp, err
	})
	if err != nil {
		return false, fmt.Errorf("keto check %s:%s#%s: %w", namespace, object, relation, err)
	}
	return allowed, nil
}

// Grant writes namespace:object#relation@subjectID (idempotent).
func (c *Client) Grant(ctx context.Context, namespace, object, relation, subjectID string) error {
	err := c.run(ctx, c.writeCB, func(ctx context.Context) (*http.Response, error) {
		_, resp, err := c.write.RelationshipApi.CreateRelationship(ctx).CreateRelationshipBody(client.CreateRelationshipBody{
			Namespace: &namespace, Object: &object, Relation: &relation, SubjectId: &subjectID,
		}).Execute()
		return resp, err
	})
	if err != nil {
		return fmt.Errorf("keto grant %s:%s#%s: %w", namespace, object, relation, err)
	}
	return nil
}

// Revoke deletes namespace:object#relation@subjectID (idempotent: deleting nothing succeeds).
func (c *Client) Revoke(ctx context.Context, namespace, object, relation, subjectID string) error {
	err := c.run(ctx, c.writeCB, func(ctx context.Context) (*http.Response, error) {
		return c.write.RelationshipApi.DeleteRelationships(ctx).Namespace(namespace).Object(object).
			Relation(relation).SubjectId(subjectID).Execute()
	})
	if err != nil {
		return fmt.Errorf("keto revoke %s:%s#%s: %w", namespace, object, relation, err)
	}
	return nil
}

// RevokeObject deletes every tuple of namespace:object (a deleted conversation).
func (c *Client) RevokeObject(ctx context.Context, namespace, object string) error {
	err := c.run(ctx, c.writeCB, func(ctx context.Context) (*http.Response, error) {
		return c.write.RelationshipApi.DeleteRelationships(ctx).Namespace(namespace).Object(object).Execute()
	})
	if err != nil {
		return fmt.Errorf("keto revoke %s:%s: %w", namespace, object, err)
	}
	return nil
}

// Ready reports whether Keto's read API answers (a readiness probe must not open the breaker, so
// this bypasses it).
func (c *Client) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, _, err := c.read.MetadataApi.IsReady(ctx).Execute()
	return err
}

// run executes call under the timeout and breaker and classifies its error: no answer or a 5xx is
// ErrUnavailable (counted by the breaker); any other non-2xx is a definitive error (not counted).
func (c *Client) run(ctx context.Context, cb circuitbreaker.CircuitBreaker[any], call func(ctx context.Context) (*http.Response, error)) error {
	_, err := failsafe.With[any](cb, resilience.Timeout[any](c.timeout)).WithContext(ctx).
		GetWithExecution(func(exec failsafe.Execution[any]) (any, error) {
			resp, err := call(exec.Context())
			if resp != nil && resp.Body != nil {
				_ = resp.Body.Close()
			}
			switch {
			case err == nil:
				return nil, nil
			case resp == nil || resp.StatusCode >= 500:
				if ctx.Err() != nil {
					return nil, ctx.Err() // our caller gave up: not Keto's fault
				}
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			default:
				return nil, fmt.Errorf("keto answered %d: %w", resp.StatusCode, err)
			}
		})
	if err != nil && resilience.IsOutage(err) && !errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// Conversations binds a Client to the Conversation namespace (object = conversation id, subject = user
// id): the shape functions/internal/messaging's Relations and Checker expect.
type Conversations struct{ Client *Client }

// Grant writes Conversation:<conversationID>#<relation>@<userID>.
func (c Conversations) Grant(ctx context.Context, conversationID, relation, userID string) error {
	return c.Client.Grant(ctx, NamespaceConversation, conversationID, relation, userID)
}

// Revoke deletes Conversation:<conversationID>#<relation>@<userID>.
func (c Conversations) Revoke(ctx context.Context, conversationID, relation, userID string) error {
	return c.Client.Revoke(ctx, NamespaceConversation, conversationID, relation, userID)
}

// Check asks whether userID holds relation (or permit) on the conversation.
func (c Conversations) Check(ctx context.Context, conversationID, relation, userID string) (bool, error) {
	return c.Client.Check(ctx, NamespaceConversation, conversationID, relation, userID)
}
