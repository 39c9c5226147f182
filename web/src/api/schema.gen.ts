// Generated from docs/openapi.yaml by web/scripts/gen-api.mjs (npm run gen:api). Do not edit.
/* eslint-disable */
export type paths = {
    "/v1/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create an account and its first session */
        post: operations["register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in (starts a session)
         * @description Failed logins are limited per username and per address (429 with Retry-After). A banned account gets 403.
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate a refresh token
         * @description The refresh token is rotated on every use. Presenting an already used one answers 401 and revokes its whole family (theft signal).
         */
        post: operations["refresh"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End the session
         * @description The access token is refused from then on and the session's sockets close (`session.revoked`, close 4001). With a refresh token, that token's session ends too.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/openid-configuration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** OIDC discovery document of the issuer */
        get: operations["oidcDiscovery"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Public keys that sign access tokens (ES256) */
        get: operations["jwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness (every process) */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness (every process) */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (every process; cluster-internal, the public gateway routes only /v1 paths) */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller */
        get: operations["getMe"];
        put?: never;
        post?: never;
        /**
         * Delete the caller's account
         * @description Needs the password (403 when wrong). All tokens and sockets of the user end (close 4003), and
         *     their push devices are forgotten. v1.1 `erase:true` also erases, before the 204, every message
         *     the user sent: each keeps `{id, conversation_id, seq, sender_id, client_msg_id, type,
         *     created_at}`, gets `status:"erased"` and loses the rest on every read path; the user's
         *     reactions are removed, their files and thumbnails deleted from storage; members get
         *     `message.erased` once per conversation (fact `im.message.erased`), and `im.user.deleted`
         *     carries `erase:true`.
         */
        delete: operations["deleteMe"];
        options?: never;
        head?: never;
        /** Change the caller's profile */
        patch: operations["updateMe"];
        trace?: never;
    };
    "/v1/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                id: components["parameters"]["UserID"];
            };
            cookie?: never;
        };
        /** Public view of a user */
        get: operations["getUser"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Find a user by username */
        get: operations["findUser"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ws/tickets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * One-use WebSocket ticket (30 s)
         * @description Redeem it as `GET /v1/ws?ticket=<ticket>`; keeps tokens out of URLs and logs.
         */
        post: operations["createWSTicket"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/users/{id}/ban": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                id: components["parameters"]["UserID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Ban a user (role admin)
         * @description Every request of the user is refused while the ban lasts; its sockets close with 4003.
         */
        post: operations["banUser"];
        /** Lift a ban (role admin) */
        delete: operations["unbanUser"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/roles/{role}/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a system role, e.g. `admin` */
                role: string;
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        get?: never;
        /** Grant a system role (role admin) */
        put: operations["grantRole"];
        post?: never;
        /** Revoke a system role (role admin) */
        delete: operations["revokeRole"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Publish a new signing key (role admin)
         * @description The new key is published in the JWKS at once and signs from `active_from` on (after the verifiers' caches saw it).
         */
        post: operations["rotateKeys"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/contacts/requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's contact requests in one direction */
        get: operations["listContactRequests"];
        put?: never;
        /**
         * Send a contact request
         * @description When the other user already sent the caller a pending request, that request is accepted instead (200).
         */
        post: operations["requestContact"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/contacts/requests/{id}/accept": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a contact request id */
                id: components["parameters"]["RequestID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Accept a request sent to the caller (both become contacts) */
        post: operations["acceptContact"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/contacts/requests/{id}/reject": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a contact request id */
                id: components["parameters"]["RequestID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Reject a request sent to the caller */
        post: operations["rejectContact"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/contacts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's contacts */
        get: operations["listContacts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/contacts/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** End a contact */
        delete: operations["removeContact"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/blocks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Block a user
         * @description A blocked user can't message or request the blocker (403 `blocked`).
         */
        post: operations["block"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/blocks/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Lift a block */
        delete: operations["unblock"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's conversations */
        get: operations["listConversations"];
        put?: never;
        /**
         * Open a direct conversation or create a group
         * @description `{type:"direct", peer_id}`: one conversation per pair, idempotent (201 when created, 200 when it
         *     existed); needs an accepted contact (403 `not_contacts`) and no block either way (403 `blocked`).
         *     `{type:"group", title, member_ids}`: 201; the caller is the owner; at most 1,000 members at creation.
         */
        post: operations["createConversation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        /** One conversation with its members and their read positions (read receipts) */
        get: operations["getConversation"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /** Rename a group (owner or admin) */
        patch: operations["updateConversation"];
        trace?: never;
    };
    "/v1/conversations/{id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Add members to a group (owner or admin)
         * @description Users already in the group are skipped. A group has at most 10,000 members (409).
         */
        post: operations["addMembers"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Remove a member (owner or admin), or leave (yourself)
         * @description Only the owner removes admins; the owner cannot be removed and must hand ownership over before leaving (409).
         */
        delete: operations["removeMember"];
        options?: never;
        head?: never;
        /**
         * Change a member's role (owner)
         * @description `role: "owner"` hands ownership over: the target becomes the owner and the caller an admin.
         */
        patch: operations["updateMember"];
        trace?: never;
    };
    "/v1/conversations/{id}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        /** Message history (pull) */
        get: operations["listMessages"];
        put?: never;
        /**
         * Send a message
         * @description 201 with the stored message; the same `client_msg_id` again answers 200 with the same message.
         *     Media types (image, file, audio, video) need `file_id` of a `ready` file the sender owns
         *     (409 `file_not_ready` while it is being checked). Text <= 4,000 characters.
         */
        post: operations["sendMessage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/read": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Move the caller's read position (never backwards) */
        post: operations["markRead"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/pins": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        /** The conversation's pins, newest first (v1.1) */
        get: operations["listPins"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/pins/{message_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
                /** @description a message id of the conversation */
                message_id: components["parameters"]["PinMessageID"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Pin a message (v1.1)
         * @description Group: owner/admin (members 403); direct: any member; strangers 404; a message not of this
         *     conversation 404; a revoked or erased message 409 `conflict`; a 51st pin 409 `limit_exceeded`.
         *     Already pinned: 200 with the same pin, nothing emitted. Fact `im.conversation.pinned`, push
         *     `pins.updated`. Revoking or erasing a pinned message unpins it.
         */
        put: operations["pinMessage"];
        post?: never;
        /**
         * Unpin a message (v1.1)
         * @description Idempotent; who may as for PUT. A real unpin emits fact `im.conversation.pinned` (pinned false) and push `pins.updated`.
         */
        delete: operations["unpinMessage"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/read-by": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        /**
         * Who has read seq N (v1.1 group read receipts)
         * @description The members whose read position is at or past `seq`, by user id (docs/v1.1-read-receipts.md). Members only; strangers 404.
         */
        get: operations["readBy"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/search/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Find messages by text (v1.1)
         * @description The messages history would show the caller, in conversations the caller is a member of now
         *     (`conversation_id` narrows to one; a stranger gets 404). `q` (trimmed; outside 2-100 chars 400)
         *     matches a substring of the current text: no word splitting, Unicode simple case folding, `%` and
         *     `_` literal; revoked and erased messages never match, edited ones only by their current text.
         *     Newest first by `(created_at, id)`; `before` is the id of the last message of the previous page.
         */
        get: operations["searchMessages"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Recall a message
         * @description The sender within the revoke window (default 2 min), the owner or an admin any time. Answers the
         *     message with `status:"revoked"` and its content cleared. v1.1: a revoked message is no longer found
         *     by search and, if pinned, is unpinned in the same transaction (fact `im.conversation.pinned` with
         *     `pinned:false`, push `pins.updated`).
         */
        post: operations["revokeMessage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Edit a text message (v1.1)
         * @description The sender only (other members 403, strangers 404 as for a missing message), `type:"text"` only
         *     (else 400), within the edit window (default 10 min from `created_at`, else 409
         *     `edit_window_expired`); a revoked or erased message 409 `conflict`. Answers the message with the
         *     new `text` and `edited_at`; `seq`, `created_at` and `mentions` stay. The same text again answers
         *     200 and emits nothing. Fact `im.message.edited`, push `message.edited` to every member.
         */
        patch: operations["editMessage"];
        trace?: never;
    };
    "/v1/messages/{id}/reactions/{key}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
                /** @description v1.1: a reaction key, URL-escaped: an emoji or short name, 1-32 bytes of UTF-8 without whitespace or control characters, compared byte for byte */
                key: components["parameters"]["ReactionKey"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Add the caller's reaction (v1.1)
         * @description Members only (strangers 404 as for a missing message). Idempotent: a repeat changes and emits
         *     nothing. A 21st distinct key on the message 409 `limit_exceeded`; a revoked or erased message
         *     409 `conflict`. A real change emits fact `im.reaction.changed` and push `reaction`.
         */
        put: operations["addReaction"];
        post?: never;
        /**
         * Remove the caller's reaction (v1.1)
         * @description Idempotent, as PUT; a real remove emits fact `im.reaction.changed` and push `reaction`.
         */
        delete: operations["removeReaction"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start an upload (presigned PUT)
         * @description PUT the bytes to `upload.url` with `upload.headers`; the file turns `ready` (or `rejected`) once checked, announced by `file.ready` on the WebSocket. At most 100 MiB.
         */
        post: operations["createFile"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/files/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a file id */
                id: components["parameters"]["FileID"];
            };
            cookie?: never;
        };
        /**
         * File metadata and, when ready, a presigned download (and thumbnail)
         * @description For the owner, or a member of a conversation where the file was sent; anyone else gets 404.
         */
        get: operations["getFile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/presence": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Presence of some users */
        get: operations["getPresence"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/calls/ice-servers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** STUN/TURN servers for WebRTC calls */
        get: operations["getICEServers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/ws": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * WebSocket upgrade (socket-edge); the protocol is in asyncapi.yaml
         * @description Authenticate before the upgrade with `Authorization: Bearer <token>`, or the subprotocols
         *     `parley.v1, bearer.<token>` (browsers), or `?ticket=<ticket>` from `POST /v1/ws/tickets`.
         *     An `Origin` not on the allow-list is refused (403); a draining instance answers 503 (retry
         *     elsewhere). A banned user is upgraded and closed at once with 4003.
         */
        get: operations["openWebSocket"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/conversations/{id}/settings": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * v1.1: the caller's own settings of a conversation (mute)
         * @description `muted_until`: a time mutes until then (`9999-12-31T23:59:59Z` = until unmuted); `null` or a
         *     past time unmutes (answered `null`); an absent field is left as is. Only the caller's own
         *     setting: no fact and no push; their other devices read it as `muted_until` in
         *     `GET /v1/conversations`. A muted member gets no push for the conversation unless mentioned.
         */
        patch: operations["updateConversationSettings"];
        trace?: never;
    };
    "/v1/push/devices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** v1.1: the caller's push devices, oldest first */
        get: operations["listPushDevices"];
        put?: never;
        /**
         * v1.1: register (or replace) a device for pushes while no socket of the user is open
         * @description `webpush` needs `subscription` (the browser's PushSubscription: an https `endpoint` and
         *     base64url `keys`), `fcm` and `apns` need `token`. The same `device_id` again replaces the
         *     device (200); a 21st device is `limit_exceeded`. Tokens and keys are never returned. What a
         *     push carries is `PushMessage` (docs/protocol.md, "Pushes while the socket is closed").
         */
        post: operations["registerPushDevice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/devices/{device_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the client's device id */
                device_id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** v1.1: forget one of the caller's devices (idempotent) */
        delete: operations["deletePushDevice"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/push/vapid-public-key": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * v1.1: the VAPID application server key browsers subscribe with
         * @description base64url without padding of the 65-byte uncompressed P-256 point: pass it as
         *     `applicationServerKey` to `PushManager.subscribe`. Generated once, the same on every call and
         *     process (RFC 8292).
         */
        get: operations["getVAPIDPublicKey"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/me/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * v1.1: the caller's data export (profile, contacts, conversations, every message they sent)
         * @description `contacts` and `conversations` as `GET /v1/contacts` and `GET /v1/conversations` list them;
         *     `messages`: every message the caller sent, in any conversation (also ones left), oldest
         *     first, and nobody else's. JSON holds at most 100,000 messages (EXPORT_MAX_JSON_MESSAGES;
         *     over it 413). With `Accept: application/x-ndjson` the export is streamed without a cap: one
         *     `ExportLine` per line, user, contacts, conversations, messages in that order, then
         *     `{"type":"end","data":{"contacts":n,"conversations":n,"messages":n}}`; a stream without the
         *     end line is incomplete. Both answers carry `Content-Disposition: attachment`.
         */
        get: operations["exportMe"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages/{id}/report": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * v1.1: report a message to the admins (members only)
         * @description `reported_user_id` is the message's sender; `message` a snapshot of the message now. The
         *     caller's open report of that message again answers it (200). Strangers get 404 as for a
         *     missing message. Fact `im.report.created`, no push.
         */
        post: operations["reportMessage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/reports": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** v1.1: the report queue, newest first (role admin) */
        get: operations["listReports"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/reports/{id}/resolve": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a report id */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * v1.1: resolve a report once (role admin)
         * @description `dismiss` closes it; `revoke_message` revokes the message as an admin revoke does (members get
         *     `message.revoked`); `ban_user` bans the sender as `POST /v1/admin/users/{id}/ban` does. Sets
         *     `status:"resolved"`, `action`, `resolved_by`, `resolved_at`; already resolved -> 409. Fact
         *     `im.report.resolved`.
         */
        post: operations["resolveReport"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
};
export type webhooks = Record<string, never>;
export type components = {
    schemas: {
        /**
         * @description Stable error code (the catalog of API.md, `events.Codes()`); clients branch on it. Never renamed.
         *     `x-parley-catalog` gives each code's HTTP status, title, whether the same request may be retried,
         *     and the WebSocket close code when the code ends a connection (otherwise an `error` frame is sent).
         * @enum {string}
         */
        ErrorCode: "invalid_argument" | "unauthenticated" | "forbidden" | "not_found" | "conflict" | "username_taken" | "not_contacts" | "blocked" | "revoke_window_expired" | "file_not_ready" | "payload_too_large" | "unsupported_media_type" | "rate_limited" | "unavailable" | "internal" | "edit_window_expired" | "limit_exceeded";
        /** @description RFC 9457 problem details (`application/problem+json`) of every HTTP error. */
        Problem: {
            /** @description `urn:parley:problem:<code>` */
            type: string;
            title: string;
            status: number;
            code: components["schemas"]["ErrorCode"];
            /** @description safe to show a user */
            detail?: string;
            /** @description the offending input (invalid_argument) */
            field?: string;
        };
        /** @description Public view of a user. */
        User: {
            id: string;
            username: string;
            display_name: string;
            avatar_url: string;
            /** Format: date-time */
            created_at: string;
        };
        Tokens: {
            access_token: string;
            refresh_token: string;
            /** @constant */
            token_type: "Bearer";
            /** @description seconds the access token lives */
            expires_in: number;
        };
        /** @description Answer of register and login. */
        Auth: {
            user: components["schemas"]["User"];
            tokens: components["schemas"]["Tokens"];
        };
        ContactRequest: {
            id: string;
            from_user_id: string;
            to_user_id: string;
            message: string;
            /** @enum {string} */
            status: "pending" | "accepted" | "rejected";
            /** Format: date-time */
            created_at: string;
        };
        Contact: {
            user: components["schemas"]["User"];
            /** Format: date-time */
            since: string;
        };
        /** @description A conversation as one member sees it (read_seq, unread_count and role are the caller's; facts leave them zero/empty). */
        Conversation: {
            id: string;
            /** @enum {string} */
            type: "direct" | "group";
            title: string;
            owner_id: string;
            members_count: number;
            last_seq: number;
            read_seq: number;
            unread_count: number;
            last_message?: components["schemas"]["Message"];
            /** @description owner, admin or member (empty in facts) */
            role: string;
            /** Format: date-time */
            updated_at: string;
            /** @description v1.1: the caller's unread messages that mention them or everyone (0 in facts) */
            mention_count: number;
            /**
             * Format: date-time
             * @description v1.1: the caller's mute, present only while in the future
             */
            muted_until?: string;
        };
        /** @description One member of a conversation; read_seq is its read receipt. */
        Member: {
            user_id: string;
            /** @enum {string} */
            role: "owner" | "admin" | "member";
            /** Format: date-time */
            joined_at: string;
            read_seq: number;
        };
        /** @description A stored message. A revoked message keeps its envelope and loses its content. */
        Message: {
            id: string;
            conversation_id: string;
            /** @description position in the conversation, from 1, no gaps */
            seq: number;
            sender_id: string;
            client_msg_id: string;
            /** @enum {string} */
            type: "text" | "image" | "file" | "audio" | "video" | "custom" | "system";
            text?: string;
            file?: components["schemas"]["File"];
            /** @description any JSON (custom messages) */
            payload?: unknown;
            /**
             * @description v1.1 adds erased; read any status but normal like revoked
             * @enum {string}
             */
            status: "normal" | "revoked" | "erased";
            /** Format: date-time */
            created_at: string;
            /**
             * Format: date-time
             * @description v1.1: the last edit
             */
            edited_at?: string;
            /** @description v1.1: first-used key first; omitted when none and on revoked or erased messages */
            reactions?: components["schemas"]["Reaction"][];
            reply_to?: components["schemas"]["ReplyTo"];
            /** @description v1.1: mentioned user ids; omitted when empty */
            mentions?: string[];
            /** @description v1.1: mentions everyone; omitted when false */
            mention_all?: boolean;
        };
        /** @description v1.1: one reaction key of a message; me (the caller reacted) only in answers to one caller */
        Reaction: {
            key: string;
            count: number;
            me?: boolean;
        };
        /** @description v1.1: the parent of a reply as it reads now; text_preview is the first 100 chars of its current text, "" for a non-text, revoked or erased parent */
        ReplyTo: {
            id: string;
            seq: number;
            sender_id: string;
            type: string;
            text_preview: string;
        };
        File: {
            id: string;
            owner_id: string;
            filename: string;
            content_type: string;
            size: number;
            /** @enum {string} */
            status: "pending" | "ready" | "rejected";
            /** Format: date-time */
            created_at: string;
        };
        Presence: {
            user_id: string;
            online: boolean;
            devices: number;
            /** Format: date-time */
            last_seen_at?: string;
        };
        /** @description A presigned S3 URL and what the client must send with it. */
        PresignedRequest: {
            url: string;
            /** @enum {string} */
            method?: "PUT" | "GET";
            headers?: {
                [key: string]: string;
            };
            /** Format: date-time */
            expires_at: string;
        };
        ICEServer: {
            urls: string[];
            username?: string;
            credential?: string;
        };
        RegisterRequest: {
            username: string;
            password: string;
            display_name?: string;
        };
        LoginRequest: {
            username: string;
            password: string;
            device_id?: string;
        };
        RefreshRequest: {
            refresh_token: string;
        };
        LogoutRequest: {
            refresh_token?: string;
        };
        UpdateMeRequest: {
            display_name?: string;
            avatar_url?: string;
        };
        DeleteMeRequest: {
            password: string;
            /** @description v1.1: also erase every message the user sent (and their files), before the 204 */
            erase?: boolean;
        };
        CreateContactRequest: {
            user_id: string;
            message?: string;
        };
        BlockRequest: {
            user_id: string;
        };
        /** @description `{type:"direct", peer_id}` or `{type:"group", title, member_ids}` */
        CreateConversationRequest: {
            /** @enum {string} */
            type: "direct" | "group";
            peer_id?: string;
            title?: string;
            member_ids?: string[];
        };
        UpdateConversationRequest: {
            title?: string;
        };
        AddMembersRequest: {
            user_ids: string[];
        };
        UpdateMemberRequest: {
            /**
             * @description "owner" hands ownership over
             * @enum {string}
             */
            role: "admin" | "member" | "owner";
        };
        /** @description Body of POST /v1/conversations/{id}/messages (and, with conversation_id, of the `send` frame). */
        SendMessage: {
            /** @description the client's idempotency key */
            client_msg_id: string;
            /** @enum {string} */
            type: "text" | "image" | "file" | "audio" | "video" | "custom";
            text?: string;
            file_id?: string;
            /** @description any JSON (custom messages) */
            payload?: unknown;
            /** @description v1.1: the id of a message of the same conversation (any status); else 400 with field reply_to */
            reply_to?: string;
            /** @description v1.1: ids of current members, de-duplicated (over 100, an unknown id or a non-member: 400 with field mentions) */
            mentions?: string[];
            /** @description v1.1: mention everyone; only the owner or an admin of a group (else 403) */
            mention_all?: boolean;
        };
        /** @description v1.1: body of PATCH /v1/messages/{id} */
        EditMessageRequest: {
            text: string;
        };
        ReadRequest: {
            seq: number;
        };
        CreateFileRequest: {
            filename: string;
            content_type: string;
            size: number;
        };
        UserResponse: {
            user: components["schemas"]["User"];
        };
        TokensResponse: {
            tokens: components["schemas"]["Tokens"];
        };
        RequestResponse: {
            request: components["schemas"]["ContactRequest"];
        };
        RequestsResponse: {
            requests: components["schemas"]["ContactRequest"][];
        };
        ContactsResponse: {
            contacts: components["schemas"]["Contact"][];
        };
        ConversationResponse: {
            conversation: components["schemas"]["Conversation"];
        };
        ConversationsResponse: {
            conversations: components["schemas"]["Conversation"][];
        };
        ConversationDetail: {
            conversation: components["schemas"]["Conversation"];
            members: components["schemas"]["Member"][];
        };
        MessageResponse: {
            message: components["schemas"]["Message"];
        };
        MessagesResponse: {
            messages: components["schemas"]["Message"][];
            has_more: boolean;
        };
        ReadResponse: {
            read_seq: number;
        };
        /** @description v1.1: a pinned message; message is rendered for the caller */
        Pin: {
            message: components["schemas"]["Message"];
            pinned_by: string;
            /** Format: date-time */
            pinned_at: string;
        };
        PinResponse: {
            pin: components["schemas"]["Pin"];
        };
        PinsResponse: {
            pins: components["schemas"]["Pin"][];
        };
        /** @description v1.1: the members whose read position is at or past the seq asked, by user id */
        ReadByResponse: {
            user_ids: string[];
        };
        PresenceResponse: {
            presence: components["schemas"]["Presence"][];
        };
        FileCreated: {
            file: components["schemas"]["File"];
            upload: components["schemas"]["PresignedRequest"];
        };
        FileResponse: {
            file: components["schemas"]["File"];
            download?: components["schemas"]["PresignedRequest"];
            thumbnail?: components["schemas"]["PresignedRequest"];
        };
        TicketResponse: {
            ticket: string;
            /** @description seconds */
            expires_in: number;
        };
        ICEServersResponse: {
            ice_servers: components["schemas"]["ICEServer"][];
        };
        /** @description v1.1: absent leaves the mute as is; null or a past time unmutes */
        UpdateSettingsRequest: {
            /** @description an RFC 3339 time (9999-12-31T23:59:59Z = until unmuted) or null */
            muted_until?: unknown;
        };
        ConversationSettings: {
            conversation_id: string;
            /**
             * Format: date-time
             * @description null when not muted
             */
            muted_until: string | null;
        };
        SettingsResponse: {
            settings: components["schemas"]["ConversationSettings"];
        };
        WebPushKeys: {
            /** @description base64url of the 65-byte uncompressed P-256 point */
            p256dh: string;
            /** @description base64url of the 16-byte auth secret */
            auth: string;
        };
        WebPushSubscription: {
            /**
             * Format: uri
             * @description https URL of the push service (RFC 8030)
             */
            endpoint: string;
            keys: components["schemas"]["WebPushKeys"];
        };
        RegisterDeviceRequest: {
            device_id: string;
            /** @enum {string} */
            platform: "webpush" | "fcm" | "apns";
            /** @description fcm: the registration token; apns: the device token (hex) */
            token?: string;
            subscription?: components["schemas"]["WebPushSubscription"];
        };
        /** @description v1.1: a push device; tokens and keys are never returned */
        PushDevice: {
            device_id: string;
            /** @enum {string} */
            platform: "webpush" | "fcm" | "apns";
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            updated_at: string;
        };
        DeviceResponse: {
            device: components["schemas"]["PushDevice"];
        };
        DevicesResponse: {
            devices: components["schemas"]["PushDevice"][];
        };
        VAPIDKeyResponse: {
            key: string;
        };
        /**
         * @description v1.1: what a push carries to a device: Web Push the JSON, encrypted (RFC 8291 aes128gcm); FCM
         *     the same keys as string `data`; APNs the same keys beside `aps`. `title` and `body` only
         *     when the platform runs with PUSH_INCLUDE_CONTENT=true.
         */
        PushMessage: {
            /** @enum {integer} */
            v: 1;
            /** @enum {string} */
            type: "message";
            conversation_id: string;
            /** @enum {string} */
            conversation_type: "direct" | "group";
            message_id: string;
            seq: number;
            sender_id: string;
            mentioned: boolean;
            /** @description the sender's display name, or the group's title */
            title?: string;
            /** @description the first 100 chars of the text, or [image], [file]... */
            body?: string;
        };
        /** @description v1.1: GET /v1/users/me/export in JSON */
        Export: {
            user: components["schemas"]["User"];
            contacts: components["schemas"]["Contact"][];
            conversations: components["schemas"]["Conversation"][];
            messages: components["schemas"]["Message"][];
            /** Format: date-time */
            exported_at: string;
        };
        /** @description v1.1: one line of the NDJSON export; data is a User, Contact, Conversation, Message or (type end) ExportEnd */
        ExportLine: {
            /** @enum {string} */
            type: "user" | "contact" | "conversation" | "message" | "end";
            /** @description the item (its schema follows type) */
            data: unknown;
        };
        /** @description v1.1: the last NDJSON line's data: what the stream held */
        ExportEnd: {
            contacts: number;
            conversations: number;
            messages: number;
        };
        /** @description v1.1: a member's report of a message; message is a snapshot at report time */
        Report: {
            id: string;
            message_id: string;
            conversation_id: string;
            reporter_id: string;
            /** @description the message's sender */
            reported_user_id: string;
            /** @enum {string} */
            reason: "spam" | "abuse" | "illegal" | "other";
            note: string;
            /** @enum {string} */
            status: "open" | "resolved";
            /** @enum {string} */
            action?: "dismiss" | "revoke_message" | "ban_user";
            resolved_by?: string;
            /** Format: date-time */
            resolved_at?: string;
            /** Format: date-time */
            created_at: string;
            message: components["schemas"]["Message"];
        };
        ReportRequest: {
            /** @enum {string} */
            reason: "spam" | "abuse" | "illegal" | "other";
            note?: string;
        };
        ResolveReportRequest: {
            /** @enum {string} */
            action: "dismiss" | "revoke_message" | "ban_user";
            /** @description the admin's note (kept, not shown in the report) */
            note?: string;
        };
        ReportResponse: {
            report: components["schemas"]["Report"];
        };
        ReportsResponse: {
            reports: components["schemas"]["Report"][];
            has_more: boolean;
        };
        OIDCConfiguration: {
            issuer: string;
            jwks_uri: string;
            token_endpoint?: string;
            response_types_supported?: string[];
            subject_types_supported?: string[];
            id_token_signing_alg_values_supported?: string[];
            grant_types_supported?: string[];
            claims_supported?: string[];
        };
        /** @description RFC 7517 JSON Web Key Set (EC P-256 public keys, `use:"sig"`, `alg:"ES256"`). */
        JWKS: {
            keys: {
                kty: string;
                kid: string;
                use?: string;
                alg?: string;
                crv?: string;
                x?: string;
                y?: string;
            }[];
        };
        KeyRotation: {
            kid: string;
            /** Format: date-time */
            active_from: string;
        };
    };
    responses: {
        /** @description `invalid_argument` (a bad field: `field` names it) */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `unauthenticated`: missing, expired, forged or revoked credentials */
        Unauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `forbidden`, `not_contacts` or `blocked` */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `not_found` (also what a non-member sees of a conversation) */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `conflict`, `username_taken`, `revoke_window_expired` or `file_not_ready` */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `payload_too_large` */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `unsupported_media_type` */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `rate_limited`; honour `Retry-After` */
        TooManyRequests: {
            headers: {
                /** @description seconds */
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `internal` (no detail leaked; retryable) */
        InternalError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description `unavailable`: a dependency is down or the process is draining; retry (honour `Retry-After`) */
        Unavailable: {
            headers: {
                /** @description seconds */
                "Retry-After"?: number;
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /** @description a user id */
        UserID: string;
        /** @description a user id */
        MemberUserID: string;
        /** @description a conversation id */
        ConversationID: string;
        /** @description a message id */
        MessageID: string;
        /** @description v1.1: a reaction key, URL-escaped: an emoji or short name, 1-32 bytes of UTF-8 without whitespace or control characters, compared byte for byte */
        ReactionKey: string;
        /** @description a message id of the conversation */
        PinMessageID: string;
        /** @description a contact request id */
        RequestID: string;
        /** @description a file id */
        FileID: string;
    };
    requestBodies: never;
    headers: never;
    pathItems: never;
};
export type $defs = Record<string, never>;
export interface operations {
    register: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRequest"];
            };
        };
        responses: {
            /** @description the user and its tokens */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Auth"];
                };
            };
            400: components["responses"]["BadRequest"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description the user and its tokens */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Auth"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    refresh: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            /** @description new tokens */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokensResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["LogoutRequest"];
            };
        };
        responses: {
            /** @description logged out */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    oidcDiscovery: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description discovery document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OIDCConfiguration"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    jwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description JSON Web Key Set */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JWKS"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the process lives */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": "ok\n";
                };
            };
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description ready */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description not ready, or draining */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description metrics in the Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    getMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the caller */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DeleteMeRequest"];
            };
        };
        responses: {
            /** @description deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateMeRequest"];
            };
        };
        responses: {
            /** @description the updated user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                id: components["parameters"]["UserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    findUser: {
        parameters: {
            query: {
                username: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    createWSTicket: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the ticket */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TicketResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    banUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                id: components["parameters"]["UserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description banned */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    unbanUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                id: components["parameters"]["UserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description unbanned */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    grantRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a system role, e.g. `admin` */
                role: string;
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description granted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    revokeRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a system role, e.g. `admin` */
                role: string;
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description revoked */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    rotateKeys: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the new key */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KeyRotation"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listContactRequests: {
        parameters: {
            query?: {
                direction?: "incoming" | "outgoing";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the requests */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestsResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    requestContact: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateContactRequest"];
            };
        };
        responses: {
            /** @description the peer's pending request, now accepted */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestResponse"];
                };
            };
            /** @description the pending request */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    acceptContact: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a contact request id */
                id: components["parameters"]["RequestID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the accepted request */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    rejectContact: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a contact request id */
                id: components["parameters"]["RequestID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the rejected request */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listContacts: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the contacts */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ContactsResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    removeContact: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description removed */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    block: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BlockRequest"];
            };
        };
        responses: {
            /** @description blocked */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    unblock: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description unblocked */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listConversations: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the conversations */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationsResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    createConversation: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateConversationRequest"];
            };
        };
        responses: {
            /** @description the direct conversation already existed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationResponse"];
                };
            };
            /** @description created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getConversation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the conversation and its members */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationDetail"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateConversation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateConversationRequest"];
            };
        };
        responses: {
            /** @description the conversation */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    addMembers: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddMembersRequest"];
            };
        };
        responses: {
            /** @description the conversation */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    removeMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description removed */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
                /** @description a user id */
                user_id: components["parameters"]["MemberUserID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateMemberRequest"];
            };
        };
        responses: {
            /** @description the conversation */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConversationResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listMessages: {
        parameters: {
            query?: {
                after_seq?: number;
                before_seq?: number;
                limit?: number;
            };
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of messages */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessagesResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    sendMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SendMessage"];
            };
        };
        responses: {
            /** @description already stored under this client_msg_id */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            /** @description stored */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    markRead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReadRequest"];
            };
        };
        responses: {
            /** @description the read position now */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listPins: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the pins */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PinsResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    pinMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
                /** @description a message id of the conversation */
                message_id: components["parameters"]["PinMessageID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the pin */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PinResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    unpinMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
                /** @description a message id of the conversation */
                message_id: components["parameters"]["PinMessageID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description not pinned (any more) */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    readBy: {
        parameters: {
            query: {
                seq: number;
            };
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the readers */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReadByResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    searchMessages: {
        parameters: {
            query: {
                q: string;
                conversation_id?: string;
                /** @description the id of the last message of the previous page (exclusive) */
                before?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of matching messages, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessagesResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    revokeMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the revoked message */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    editMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EditMessageRequest"];
            };
        };
        responses: {
            /** @description the message as edited */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    addReaction: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
                /** @description v1.1: a reaction key, URL-escaped: an emoji or short name, 1-32 bytes of UTF-8 without whitespace or control characters, compared byte for byte */
                key: components["parameters"]["ReactionKey"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the message as the caller sees it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    removeReaction: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
                /** @description v1.1: a reaction key, URL-escaped: an emoji or short name, 1-32 bytes of UTF-8 without whitespace or control characters, compared byte for byte */
                key: components["parameters"]["ReactionKey"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the message as the caller sees it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    createFile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateFileRequest"];
            };
        };
        responses: {
            /** @description the pending file and where to upload it */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FileCreated"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getFile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a file id */
                id: components["parameters"]["FileID"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the file */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FileResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getPresence: {
        parameters: {
            query: {
                /** @description comma-separated user ids */
                user_ids: string[];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description one entry per asked user */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PresenceResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getICEServers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the servers (TURN credentials are short-lived) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ICEServersResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    openWebSocket: {
        parameters: {
            query?: {
                ticket?: string;
            };
            header?: {
                /** @description `parley.v1, bearer.<access_token>`; the server selects `parley.v1` */
                "Sec-WebSocket-Protocol"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description switching protocols; the first frame is `hello` */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateConversationSettings: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a conversation id */
                id: components["parameters"]["ConversationID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateSettingsRequest"];
            };
        };
        responses: {
            /** @description the caller's settings now */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SettingsResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listPushDevices: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the devices */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DevicesResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    registerPushDevice: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterDeviceRequest"];
            };
        };
        responses: {
            /** @description the device existed and was replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeviceResponse"];
                };
            };
            /** @description the device was registered */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeviceResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    deletePushDevice: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description the client's device id */
                device_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the device is gone (or never was) */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    getVAPIDPublicKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the key */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VAPIDKeyResponse"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    exportMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description the export */
            200: {
                headers: {
                    /** @description attachment; filename="parley-export-<user id>.json" (or .ndjson) */
                    "Content-Disposition"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Export"];
                    "application/x-ndjson": components["schemas"]["ExportLine"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    reportMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a message id */
                id: components["parameters"]["MessageID"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReportRequest"];
            };
        };
        responses: {
            /** @description the caller's open report of this message, already filed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportResponse"];
                };
            };
            /** @description the report */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    listReports: {
        parameters: {
            query?: {
                status?: "open" | "resolved";
                /** @description a report id: the page ends before it */
                before?: string;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description a page of reports */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportsResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
    resolveReport: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description a report id */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResolveReportRequest"];
            };
        };
        responses: {
            /** @description the resolved report */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReportResponse"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Unavailable"];
        };
    };
}
