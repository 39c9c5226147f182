package fanout

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/parley-im/parley/events"
)

// resolver returns the recipients of one fact.
type resolver func(ctx context.Context, e event.Event) ([]string, error)

// typed adapts a resolver of T, the fact's payload: it decodes the fact's data as a T (a fact that
// does not decode is poison) and hands it to fn. watermill's NewEventHandler[T] has the same shape.
func typed[T events.Validator](fn func(ctx context.Context, data T) ([]string, error)) resolver {
	return func(ctx context.Context, e event.Event) ([]string, error) {
		data, err := events.Decode[T](e)
		if err != nil {
			return nil, err
		}
		return fn(ctx, data)
	}
}

// nobody resolves facts no one is pushed, without decoding them.
func nobody(context.Context, event.Event) ([]string, error) { return nil, nil }

// recipientTable is who must receive each fact type: the conversation's members now for
// conversation facts (messages created, revoked, edited and erased, reactions, pins, reads,
// conversations created and updated, members added) plus removed users, who must hear of their
// removal; both users for contact facts; the commanding user for a rejection; the owner for file
// facts; the user for user and session facts (their own devices); the user's contacts for a
// presence change (the socket-edge publishes those and relies on fanout to know who may see them).
// A fact type the fanout trigger subscribes to must have an entry (a test reads the trigger).
func (h *Handler) recipientTable() map[string]resolver {
	message := typed(func(ctx context.Context, f events.MessageFact) ([]string, error) {
		return h.members(ctx, f.Message.ConversationID)
	})
	conversation := typed(func(ctx context.Context, f events.ConversationFact) ([]string, error) {
		return h.members(ctx, f.Conversation.ID, f.MemberIDs...)
	})
	contact := typed(func(_ context.Context, f events.ContactFact) ([]string, error) {
		return []string{f.Request.FromUserID, f.Request.ToUserID}, nil
	})
	user := typed(func(_ context.Context, f events.UserFact) ([]string, error) { return []string{f.User.ID}, nil })
	file := typed(func(_ context.Context, f events.FileFact) ([]string, error) { return []string{f.File.OwnerID}, nil })
	return map[string]resolver{
		events.TypeMessageCreated: message,
		events.TypeMessageRevoked: message,
		events.TypeMessageEdited:  message,
		events.TypeMessageErased: typed(func(ctx context.Context, f events.MessageErased) ([]string, error) {
			return h.members(ctx, f.ConversationID)
		}),
		events.TypeReactionChanged: typed(func(ctx context.Context, f events.ReactionChanged) ([]string, error) {
			return h.members(ctx, f.ConversationID)
		}),
		events.TypeConversationPinned: typed(func(ctx context.Context, f events.ConversationPinned) ([]string, error) {
			return h.members(ctx, f.ConversationID)
		}),
		events.TypeReportCreated:  nobody, // the admins' queue, not pushed (API.md "Report")
		events.TypeReportResolved: nobody,
		events.TypeConversationRead: typed(func(ctx context.Context, f events.ConversationRead) ([]string, error) {
			return h.members(ctx, f.ConversationID)
		}),
		events.TypeConversationCreated: conversation,
		events.TypeConversationUpdated: conversation,
		events.TypeMemberAdded: typed(func(ctx context.Context, f events.MemberFact) ([]string, error) {
			return h.members(ctx, f.ConversationID)
		}),
		events.TypeMemberRemoved: typed(func(ctx context.Context, f events.MemberFact) ([]string, error) {
			return h.members(ctx, f.ConversationID, f.UserIDs...)
		}),
		events.TypeContactRequested: contact,
		events.TypeContactAccepted:  contact,
		events.TypeContactRemoved: typed(func(_ context.Context, f events.ContactRemoved) ([]string, error) {
			return []string{f.UserID, f.ContactID}, nil
		}),
		events.TypeCommandRejected: typed(func(_ context.Context, f events.CommandRejected) ([]string, error) {
			return []string{f.UserID}, nil
		}),
		events.TypeSessionRevoked: typed(func(_ context.Context, f events.SessionRevoked) ([]string, error) {
			return []string{f.UserID}, nil
		}),
		events.TypeUserDeleted: typed(func(_ context.Context, f events.UserDeleted) ([]string, error) {
			return []string{f.UserID}, nil
		}),
		events.TypeUserRegistered: user,
		events.TypeUserUpdated:    user,
		events.TypePresenceChanged: typed(func(ctx context.Context, f events.PresenceChanged) ([]string, error) {
			return h.contacts(ctx, f.UserID)
		}),
		events.TypeFileUploaded: file,
		events.TypeFileRejected: file,
	}
}

// Recipients resolves who must receive fact (recipientTable). Unknown types have none.
func (h *Handler) Recipients(ctx context.Context, e event.Event) ([]string, error) {
	if r, ok := h.recipients[e.Type()]; ok {
		return r(ctx, e)
	}
	h.d.Log.DebugContext(ctx, "fanout: no recipients for type", "type", e.Type())
	return nil, nil
}
