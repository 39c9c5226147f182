package identity

import (
	"context"
	"errors"
	"net/http"

	"github.com/parley-im/parley/events"
	"github.com/parley-im/parley/functions/internal/serve"
	"github.com/parley-im/parley/infra/auth"
	"github.com/parley-im/parley/infra/keto"
)

// requireAdmin re-checks the admin role even though the rules file guards /v1/admin: removing a rule
// by mistake must not open these routes. It fails closed when Keto is unreachable.
func (f *Function) requireAdmin(ctx context.Context) error {
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	ok, err := f.d.Authorizer.Allowed(ctx, keto.NamespaceRole, keto.RoleAdmin, keto.RelationMembers, p.UserID, auth.FailClosed)
	if err != nil {
		return err
	}
	if !ok {
		return events.Errorf(events.CodeForbidden, "this action needs the admin role")
	}
	return nil
}

func (f *Function) target(ctx context.Context, id string) error {
	if _, err := f.store.userByID(ctx, nil, id); errors.Is(err, errNotFound) {
		return events.Errorf(events.CodeNotFound, "no such user")
	} else if err != nil {
		return err
	}
	return nil
}

func ketoErr(err error) error {
	if errors.Is(err, keto.ErrUnavailable) {
		return unavailable(err)
	}
	return err
}

func (f *Function) ban(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	if err := f.target(ctx, id); err != nil {
		return err
	}
	if err := f.bans.Ban(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (f *Function) unban(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	if err := f.target(ctx, id); err != nil {
		return err
	}
	if err := f.bans.Unban(ctx, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (f *Function) roleChange(w http.ResponseWriter, r *http.Request, grant bool) error {
	ctx, role, id := r.Context(), r.PathValue("role"), r.PathValue("user_id")
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	if !roleName.MatchString(role) {
		return events.Invalid("role", "must match %s", roleName.String())
	}
	if err := f.target(ctx, id); err != nil {
		return err
	}
	change := f.d.Roles.Revoke
	if grant {
		change = f.d.Roles.Grant
	}
	if err := change(ctx, keto.NamespaceRole, role, keto.RelationMembers, id); err != nil {
		return ketoErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (f *Function) grantRole(w http.ResponseWriter, r *http.Request) error {
	return f.roleChange(w, r, true)
}
func (f *Function) revokeRole(w http.ResponseWriter, r *http.Request) error {
	return f.roleChange(w, r, false)
}

func (f *Function) rotateKeys(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := f.requireAdmin(ctx); err != nil {
		return err
	}
	kid, from, err := f.RotateKeys(ctx)
	if err != nil {
		return err
	}
	return serve.WriteJSON(w, http.StatusOK, map[string]any{"kid": kid, "active_from": from.UTC()})
}
