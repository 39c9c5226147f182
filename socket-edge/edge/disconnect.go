package edge

import "github.com/parley-im/parley/events"

// Why the edge closes a connection. The reasons are the close frames' text, unchanged; the closes
// metric is labelled by the code (closeKindOf).
var (
	disconnectNotJSON     = events.Disconnect{Code: events.ClosePolicy, Reason: "frames must be JSON"}
	disconnectNotText     = events.Disconnect{Code: events.ClosePolicy, Reason: "frames must be JSON text"}
	disconnectSlow        = events.Disconnect{Code: events.CloseSlowConsumer, Reason: "slow consumer: reconnect and pull", Reconnect: true}
	disconnectRateLimited = events.Disconnect{Code: events.CloseRateLimited, Reason: "rate limited", Reconnect: true}
	disconnectRestart     = events.Disconnect{Code: events.CloseServiceRestart, Reason: "server restart: reconnect", Reconnect: true}
	disconnectExpired     = events.Disconnect{Code: events.CloseUnauthenticated, Reason: "token expired"}
	disconnectRevoked     = events.Disconnect{Code: events.CloseUnauthenticated, Reason: "session revoked"}
	disconnectEnded       = events.Disconnect{Code: events.CloseBanned, Reason: "session revoked"} // banned or deleted (SessionEndIsFinal)
	disconnectDeleted     = events.Disconnect{Code: events.CloseBanned, Reason: "account deleted"}
	disconnectBanned      = events.Disconnect{Code: events.CloseBanned, Reason: "banned"}
)
