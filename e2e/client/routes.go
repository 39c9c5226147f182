package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parley-im/parley/events"
)

// Auth and account (API.md "Public" and "/v1/users").

// Register creates a user and keeps its tokens.
func (c *Client) Register(ctx context.Context, r events.RegisterRequest) (events.Auth, error) {
	var a events.Auth
	if err := c.Do(ctx, http.MethodPost, "/v1/auth/register", r, &a); err != nil {
		return a, err
	}
	c.setAuth(a)
	return a, nil
}

// Login signs in and keeps the tokens.
func (c *Client) Login(ctx context.Context, r events.LoginRequest) (events.Auth, error) {
	var a events.Auth
	if err := c.Do(ctx, http.MethodPost, "/v1/auth/login", r, &a); err != nil {
		return a, err
	}
	c.setAuth(a)
	return a, nil
}

// Refresh rotates the held refresh token and keeps the new tokens.
func (c *Client) Refresh(ctx context.Context) (events.Tokens, error) {
	return c.RefreshWith(ctx, c.Tokens().RefreshToken)
}

// RefreshWith rotates the given refresh token (a stale one, in the reuse-detection test). On success
// the new tokens are kept.
func (c *Client) RefreshWith(ctx context.Context, refreshToken string) (events.Tokens, error) {
	var r events.TokensResponse
	if err := c.Do(ctx, http.MethodPost, "/v1/auth/refresh", events.RefreshRequest{RefreshToken: refreshToken}, &r); err != nil {
		return r.Tokens, err
	}
	c.SetTokens(r.Tokens)
	return r.Tokens, nil
}

// Logout ends the session; the held refresh token is sent so its family ends too.
func (c *Client) Logout(ctx context.Context) error {
	return c.Do(ctx, http.MethodPost, "/v1/auth/logout", events.LogoutRequest{RefreshToken: c.Tokens().RefreshToken}, nil)
}

// Me returns the caller.
func (c *Client) Me(ctx context.Context) (events.User, error) {
	var r events.UserResponse
	err := c.Do(ctx, http.MethodGet, "/v1/users/me", nil, &r)
	if err == nil {
		c.mu.Lock()
		c.user = r.User
		c.mu.Unlock()
	}
	return r.User, err
}

// UpdateMe changes the caller's profile.
func (c *Client) UpdateMe(ctx context.Context, r events.UpdateMeRequest) (events.User, error) {
	var out events.UserResponse
	err := c.Do(ctx, http.MethodPatch, "/v1/users/me", r, &out)
	return out.User, err
}

// DeleteMe deletes the caller's account.
func (c *Client) DeleteMe(ctx context.Context, password string) error {
	return c.Do(ctx, http.MethodDelete, "/v1/users/me", events.DeleteMeRequest{Password: password}, nil)
}

// GetUser returns the public view of a user.
func (c *Client) GetUser(ctx context.Context, id string) (events.User, error) {
	var r events.UserResponse
	err := c.Do(ctx, http.MethodGet, pathf("/v1/users/%s", id), nil, &r)
	return r.User, err
}

// UserByName finds a user by username.
func (c *Client) UserByName(ctx context.Context, username string) (events.User, error) {
	var r events.UserResponse
	err := c.Do(ctx, http.MethodGet, "/v1/users?username="+url.QueryEscape(username), nil, &r)
	return r.User, err
}

// Contacts and blocks.

// RequestContact sends a contact request.
func (c *Client) RequestContact(ctx context.Context, userID, message string) (events.ContactRequest, error) {
	var r events.RequestResponse
	err := c.Do(ctx, http.MethodPost, "/v1/contacts/requests", events.CreateContactRequest{UserID: userID, Message: message}, &r)
	return r.Request, err
}

// Direction of a contact request listing.
const (
	Incoming = "incoming"
	Outgoing = "outgoing"
)

// ContactRequests lists the caller's requests in one direction.
func (c *Client) ContactRequests(ctx context.Context, direction string) ([]events.ContactRequest, error) {
	var r events.RequestsResponse
	err := c.Do(ctx, http.MethodGet, "/v1/contacts/requests?direction="+url.QueryEscape(direction), nil, &r)
	return r.Requests, err
}

// AcceptContact accepts a request sent to the caller.
func (c *Client) AcceptContact(ctx context.Context, requestID string) (events.ContactRequest, error) {
	var r events.RequestResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/contacts/requests/%s/accept", requestID), nil, &r)
	return r.Request, err
}

// RejectContact rejects a request sent to the caller.
func (c *Client) RejectContact(ctx context.Context, requestID string) (events.ContactRequest, error) {
	var r events.RequestResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/contacts/requests/%s/reject", requestID), nil, &r)
	return r.Request, err
}

// Contacts lists the caller's contacts.
func (c *Client) Contacts(ctx context.Context) ([]events.Contact, error) {
	var r events.ContactsResponse
	err := c.Do(ctx, http.MethodGet, "/v1/contacts", nil, &r)
	return r.Contacts, err
}

// RemoveContact ends a contact.
func (c *Client) RemoveContact(ctx context.Context, userID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/contacts/%s", userID), nil, nil)
}

// Block blocks a user.
func (c *Client) Block(ctx context.Context, userID string) error {
	return c.Do(ctx, http.MethodPost, "/v1/blocks", events.BlockRequest{UserID: userID}, nil)
}

// Unblock lifts a block.
func (c *Client) Unblock(ctx context.Context, userID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/blocks/%s", userID), nil, nil)
}

// Conversations and members.

// CreateDirect opens (or finds) the direct conversation with a contact.
func (c *Client) CreateDirect(ctx context.Context, peerID string) (events.Conversation, error) {
	var r events.ConversationResponse
	err := c.Do(ctx, http.MethodPost, "/v1/conversations", events.CreateConversationRequest{Type: events.ConversationDirect, PeerID: peerID}, &r)
	return r.Conversation, err
}

// CreateGroup creates a group with the caller as owner.
func (c *Client) CreateGroup(ctx context.Context, title string, memberIDs []string) (events.Conversation, error) {
	var r events.ConversationResponse
	err := c.Do(ctx, http.MethodPost, "/v1/conversations", events.CreateConversationRequest{Type: events.ConversationGroup, Title: title, MemberIDs: memberIDs}, &r)
	return r.Conversation, err
}

// Conversations lists the caller's conversations.
func (c *Client) Conversations(ctx context.Context) ([]events.Conversation, error) {
	var r events.ConversationsResponse
	err := c.Do(ctx, http.MethodGet, "/v1/conversations", nil, &r)
	return r.Conversations, err
}

// Conversation returns one conversation with its members (and their read positions).
func (c *Client) Conversation(ctx context.Context, id string) (events.ConversationDetail, error) {
	var r events.ConversationDetail
	err := c.Do(ctx, http.MethodGet, pathf("/v1/conversations/%s", id), nil, &r)
	return r, err
}

// UpdateConversation renames a group.
func (c *Client) UpdateConversation(ctx context.Context, id string, r events.UpdateConversationRequest) (events.Conversation, error) {
	var out events.ConversationResponse
	err := c.Do(ctx, http.MethodPatch, pathf("/v1/conversations/%s", id), r, &out)
	return out.Conversation, err
}

// AddMembers adds users to a group.
func (c *Client) AddMembers(ctx context.Context, id string, userIDs []string) error {
	return c.Do(ctx, http.MethodPost, pathf("/v1/conversations/%s/members", id), events.AddMembersRequest{UserIDs: userIDs}, nil)
}

// RemoveMember removes a member (or, for the caller's own id, leaves).
func (c *Client) RemoveMember(ctx context.Context, id, userID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/conversations/%s/members/%s", id, userID), nil, nil)
}

// SetMemberRole makes a member admin or member.
func (c *Client) SetMemberRole(ctx context.Context, id, userID, role string) error {
	return c.Do(ctx, http.MethodPatch, pathf("/v1/conversations/%s/members/%s", id, userID), events.UpdateMemberRequest{Role: role}, nil)
}

// Messages.

// SendMessage stores a message over HTTP; the same ClientMsgID again returns the original message.
func (c *Client) SendMessage(ctx context.Context, conversationID string, m events.SendMessage) (events.Message, error) {
	var r events.MessageResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/conversations/%s/messages", conversationID), m, &r)
	return r.Message, err
}

// HistoryQuery selects a page of history. Without BeforeSeq or Latest it pages forward from AfterSeq
// (after_seq=0 is sent: from the first message); Latest asks for the newest page.
type HistoryQuery struct {
	AfterSeq  int64
	BeforeSeq int64
	Latest    bool
	Limit     int
}

// History returns one page of a conversation's messages.
func (c *Client) History(ctx context.Context, conversationID string, q HistoryQuery) (events.MessagesResponse, error) {
	v := url.Values{}
	if q.AfterSeq > 0 || (q.BeforeSeq == 0 && !q.Latest) {
		v.Set("after_seq", strconv.FormatInt(q.AfterSeq, 10))
	}
	if q.BeforeSeq > 0 {
		v.Set("before_seq", strconv.FormatInt(q.BeforeSeq, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	p := pathf("/v1/conversations/%s/messages", conversationID)
	if len(v) > 0 {
		p += "?" + v.Encode()
	}
	var r events.MessagesResponse
	err := c.Do(ctx, http.MethodGet, p, nil, &r)
	return r, err
}

// AllHistory pages forward through a conversation from after_seq 0 and returns every message. It is
// bounded by maxPages so a server that never ends has_more cannot loop a test forever.
func (c *Client) AllHistory(ctx context.Context, conversationID string) ([]events.Message, error) {
	const pageSize, maxPages = 200, 10_000
	var all []events.Message
	var after int64
	for range maxPages {
		page, err := c.History(ctx, conversationID, HistoryQuery{AfterSeq: after, Limit: pageSize})
		if err != nil {
			return all, err
		}
		all = append(all, page.Messages...)
		if !page.HasMore || len(page.Messages) == 0 {
			return all, nil
		}
		last := page.Messages[len(page.Messages)-1].Seq
		if last <= after {
			return all, fmt.Errorf("history of %s does not advance past seq %d", conversationID, after)
		}
		after = last
	}
	return all, fmt.Errorf("history of %s: more than %d pages", conversationID, maxPages)
}

// Read moves the caller's read position.
func (c *Client) Read(ctx context.Context, conversationID string, seq int64) (int64, error) {
	var r events.ReadResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/conversations/%s/read", conversationID), events.ReadRequest{Seq: seq}, &r)
	return r.ReadSeq, err
}

// Revoke recalls a message.
func (c *Client) Revoke(ctx context.Context, messageID string) (events.Message, error) {
	var r events.MessageResponse
	err := c.Do(ctx, http.MethodPost, pathf("/v1/messages/%s/revoke", messageID), nil, &r)
	return r.Message, err
}

// v1.1: edit, reactions, pins, search, read-by.

// EditMessage replaces a text message's text.
func (c *Client) EditMessage(ctx context.Context, messageID, text string) (events.Message, error) {
	var r events.MessageResponse
	err := c.Do(ctx, http.MethodPatch, pathf("/v1/messages/%s", messageID), events.EditMessageRequest{Text: text}, &r)
	return r.Message, err
}

// React adds the caller's reaction key to a message (the key is escaped into the path).
func (c *Client) React(ctx context.Context, messageID, key string) (events.Message, error) {
	var r events.MessageResponse
	err := c.Do(ctx, http.MethodPut, pathf("/v1/messages/%s/reactions/%s", messageID, key), nil, &r)
	return r.Message, err
}

// Unreact removes the caller's reaction key from a message.
func (c *Client) Unreact(ctx context.Context, messageID, key string) (events.Message, error) {
	var r events.MessageResponse
	err := c.Do(ctx, http.MethodDelete, pathf("/v1/messages/%s/reactions/%s", messageID, key), nil, &r)
	return r.Message, err
}

// Pin pins a message of a conversation.
func (c *Client) Pin(ctx context.Context, conversationID, messageID string) (events.Pin, error) {
	var r events.PinResponse
	err := c.Do(ctx, http.MethodPut, pathf("/v1/conversations/%s/pins/%s", conversationID, messageID), nil, &r)
	return r.Pin, err
}

// Unpin removes a pin.
func (c *Client) Unpin(ctx context.Context, conversationID, messageID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/conversations/%s/pins/%s", conversationID, messageID), nil, nil)
}

// Pins lists a conversation's pins, newest first.
func (c *Client) Pins(ctx context.Context, conversationID string) ([]events.Pin, error) {
	var r events.PinsResponse
	err := c.Do(ctx, http.MethodGet, pathf("/v1/conversations/%s/pins", conversationID), nil, &r)
	return r.Pins, err
}

// SearchQuery is one search request; empty fields are not sent.
type SearchQuery struct {
	Q, ConversationID, Before string
	Limit                     int
}

// Search finds messages by text.
func (c *Client) Search(ctx context.Context, q SearchQuery) (events.MessagesResponse, error) {
	v := url.Values{"q": {q.Q}}
	if q.ConversationID != "" {
		v.Set("conversation_id", q.ConversationID)
	}
	if q.Before != "" {
		v.Set("before", q.Before)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var r events.MessagesResponse
	err := c.Do(ctx, http.MethodGet, "/v1/search/messages?"+v.Encode(), nil, &r)
	return r, err
}

// ReadBy returns the members who have read seq of a conversation.
func (c *Client) ReadBy(ctx context.Context, conversationID string, seq int64) ([]string, error) {
	var r events.ReadByResponse
	err := c.Do(ctx, http.MethodGet, pathf("/v1/conversations/%s/read-by", conversationID)+"?seq="+strconv.FormatInt(seq, 10), nil, &r)
	return r.UserIDs, err
}

// Presence returns the presence of users.
func (c *Client) Presence(ctx context.Context, userIDs ...string) ([]events.Presence, error) {
	var r events.PresenceResponse
	err := c.Do(ctx, http.MethodGet, "/v1/presence?user_ids="+url.QueryEscape(strings.Join(userIDs, ",")), nil, &r)
	return r.Presence, err
}

// Files.

// CreateFile registers an upload and returns the presigned PUT.
func (c *Client) CreateFile(ctx context.Context, r events.CreateFileRequest) (events.FileCreated, error) {
	var out events.FileCreated
	err := c.Do(ctx, http.MethodPost, "/v1/files", r, &out)
	return out, err
}

// Upload PUTs content to a presigned upload with the headers it asks for. The URL is the storage's,
// not the gateway's, so no bearer token is sent.
func (c *Client) Upload(ctx context.Context, up events.PresignedRequest, content []byte) error {
	method := up.Method
	if method == "" {
		method = http.MethodPut
	}
	req, err := http.NewRequestWithContext(ctx, method, up.URL, bytes.NewReader(content))
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(content))
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &APIError{Method: method, Path: "(presigned upload)", Status: resp.StatusCode, Body: body}
	}
	return nil
}

// GetFile returns a file's metadata and, when ready, its download URL.
func (c *Client) GetFile(ctx context.Context, id string) (events.FileResponse, error) {
	var r events.FileResponse
	err := c.Do(ctx, http.MethodGet, pathf("/v1/files/%s", id), nil, &r)
	return r, err
}

// Realtime helpers.

// WSTicket asks for a one-use WebSocket ticket.
func (c *Client) WSTicket(ctx context.Context) (events.TicketResponse, error) {
	var r events.TicketResponse
	err := c.Do(ctx, http.MethodPost, "/v1/ws/tickets", nil, &r)
	return r, err
}

// ICEServers returns the STUN/TURN servers for calls.
func (c *Client) ICEServers(ctx context.Context) ([]events.ICEServer, error) {
	var r events.ICEServersResponse
	err := c.Do(ctx, http.MethodGet, "/v1/calls/ice-servers", nil, &r)
	return r.ICEServers, err
}

// Administration (role admin).

// Ban bans a user.
func (c *Client) Ban(ctx context.Context, userID string) error {
	return c.Do(ctx, http.MethodPost, pathf("/v1/admin/users/%s/ban", userID), nil, nil)
}

// Unban lifts a ban.
func (c *Client) Unban(ctx context.Context, userID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/admin/users/%s/ban", userID), nil, nil)
}

// GrantRole gives a user a system role.
func (c *Client) GrantRole(ctx context.Context, role, userID string) error {
	return c.Do(ctx, http.MethodPut, pathf("/v1/admin/roles/%s/members/%s", role, userID), nil, nil)
}

// RevokeRole takes a system role away.
func (c *Client) RevokeRole(ctx context.Context, role, userID string) error {
	return c.Do(ctx, http.MethodDelete, pathf("/v1/admin/roles/%s/members/%s", role, userID), nil, nil)
}
