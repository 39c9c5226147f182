package events

// CloudEvent types. Commands ask a function to do something; facts say what happened (published only
// through the outbox); the delivery type carries a fact to the socket-edge with its recipients.
const (
	// Commands (socket-edge -> broker -> function).
	TypeMessageSend   = "im.message.send.v1"
	TypeMessageRead   = "im.message.read.v1"
	TypeMessageRevoke = "im.message.revoke.v1"
	TypeTypingUpdate  = "im.typing.update.v1"
	TypeCallSignal    = "im.call.signal.v1"
	// TypeCommandRejected is the reply a function gives to a command it refuses for a business reason.
	TypeCommandRejected = "im.command.rejected.v1"

	// Facts.
	TypeUserRegistered      = "im.user.registered.v1"
	TypeUserUpdated         = "im.user.updated.v1"
	TypeUserDeleted         = "im.user.deleted.v1"
	TypeSessionRevoked      = "im.session.revoked.v1"
	TypeContactRequested    = "im.contact.requested.v1"
	TypeContactAccepted     = "im.contact.accepted.v1"
	TypeContactRemoved      = "im.contact.removed.v1"
	TypeConversationCreated = "im.conversation.created.v1"
	TypeConversationUpdated = "im.conversation.updated.v1"
	TypeMemberAdded         = "im.member.added.v1"
	TypeMemberRemoved       = "im.member.removed.v1"
	TypeMessageCreated      = "im.message.created.v1"
	TypeMessageRevoked      = "im.message.revoked.v1"
	TypeConversationRead    = "im.conversation.read.v1"
	TypeFileUploaded        = "im.file.uploaded.v1"
	TypeFileRejected        = "im.file.rejected.v1"
	TypePresenceChanged     = "im.presence.changed.v1"
	// v1.1 facts (issue 14).
	TypeMessageEdited      = "im.message.edited.v1"
	TypeReactionChanged    = "im.reaction.changed.v1"
	TypeConversationPinned = "im.conversation.pinned.v1"
	// v1.1 (issue 15): erasure and reports.
	TypeMessageErased  = "im.message.erased.v1"
	TypeReportCreated  = "im.report.created.v1"
	TypeReportResolved = "im.report.resolved.v1"

	// TypeDelivery is a fact (or an ephemeral signal) plus the user ids it must reach.
	TypeDelivery = "im.delivery.v1"

	// TypeKafkaRecord is what a KafkaSource makes of a plain (non-CloudEvent) Kafka record.
	TypeKafkaRecord = "dev.knative.kafka.event"
)

// Extension attribute names.
const (
	ExtPartitionKey  = "partitionkey"
	ExtCorrelationID = "correlationid"
	ExtTraceParent   = "traceparent"
	ExtTraceState    = "tracestate"
	// ExtDeadline is the time (RFC 3339) after which a command must not be applied: the socket-edge
	// answers its frame by then, so a function that receives it later drops it unapplied instead of
	// storing what nobody waits for. Bounds how long a backlog can hold commands.
	ExtDeadline = "deadline"
	// ExtPush ("true") marks an im.message.created some member other than the sender could get a
	// push notification for (has a push device and has not muted the conversation, or is
	// mentioned), decided when the message is stored. The push trigger filters on it, so the
	// messages nobody can be pushed cost no dispatch, request or device lookup.
	ExtPush = "parleypush"
	// Dead-letter extensions added by the Knative Kafka dispatcher.
	ExtErrorDest = "knativeerrordest"
	ExtErrorCode = "knativeerrorcode"
	ExtErrorData = "knativeerrordata"
)

// Kafka topics.
const (
	// TopicBroker is the default broker topic (commands and facts): Knative's Kafka Broker names its
	// topic knative-broker-<namespace>-<broker>, here broker "default" in namespace "parley".
	// Another namespace or broker sets BROKER_TOPIC.
	TopicBroker = "knative-broker-parley-default"
	// TopicDelivery carries im.delivery events to every socket-edge instance.
	TopicDelivery = "im.delivery"
	// DLQSuffix is appended to a topic name to form its dead-letter topic.
	DLQSuffix = ".dlq"
)

// CommandTypes lists the command types; FactTypes the fact types (catalog tests, docs, the chart).
func CommandTypes() []string {
	return []string{TypeMessageSend, TypeMessageRead, TypeMessageRevoke, TypeTypingUpdate, TypeCallSignal}
}

// FactTypes lists every fact type.
func FactTypes() []string {
	return []string{
		TypeUserRegistered, TypeUserUpdated, TypeUserDeleted, TypeSessionRevoked,
		TypeContactRequested, TypeContactAccepted, TypeContactRemoved,
		TypeConversationCreated, TypeConversationUpdated, TypeMemberAdded, TypeMemberRemoved,
		TypeMessageCreated, TypeMessageRevoked, TypeConversationRead,
		TypeFileUploaded, TypeFileRejected, TypePresenceChanged,
		TypeMessageEdited, TypeReactionChanged, TypeConversationPinned,
		TypeMessageErased, TypeReportCreated, TypeReportResolved,
	}
}
