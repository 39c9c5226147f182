// Package edge is Parley's WebSocket edge: it authenticates clients before the upgrade, holds their
// connections in a sharded hub, turns client frames into command CloudEvents for the broker, consumes
// im.delivery and pushes the rendered frames to the connections it holds, keeps presence leases in
// Redis, and drains on shutdown. The wire protocol is docs/protocol.md.
//
// Concurrency contract (the centrifuge / tinode model):
//   - every connection has exactly one reader goroutine (readLoop), started by the upgrade handler,
//     which returns at once so the handler's stack is not kept per connection;
//   - writes go through a byte-bounded queue; a writer goroutine is started only while the queue holds
//     something and exits when it is empty, so an idle connection costs no writer stack. Only that
//     goroutine writes data frames; gorilla's own control replies (pong, close) may run concurrently,
//     which gorilla allows;
//   - enqueue never blocks: the delivery path appends and returns. A connection whose queue would pass
//     Config.OutboundQueueBytes is closed with 4009 (slow consumer) instead of growing memory;
//   - a delivery is rendered once into a frame and the same byte slice is queued to every recipient;
//     queued slices are never modified after they are shared;
//   - overload is answered at once, never by a silent wait: send/read/revoke frames are admitted
//     against a per-connection and a per-instance cap of frames awaiting an answer, commands carry a
//     deadline the functions honour, and acks have a budget apart from every other frame.
//
// Files by job: server.go (config, upgrade, auth), conn.go (read loop, heartbeat, rate limits,
// close), writer.go (bounded outbound queue, coalesced writes, the close frame, behind a transport
// interface), disconnect.go (close reasons), hub.go (user -> connections), delivery.go (im.delivery
// consumer, dispatch to pushes and session ends), frames.go (parse and render frames), pending.go
// (frames awaiting their answer, answering them by correlation), acks.go (unacked pushes, resends,
// ack frames, per-conversation seq memory), commands.go (client frames -> commands), overload.go
// (admission, shedding, unavailable answers), metrics.go (counters, instruments), calls.go (call.*
// frames), presence.go (leases, edge registry), drain.go (lame-duck shutdown). One-use tickets are
// redeemed by infra/auth.Tickets (Deps.Tickets), the same code identity issues them with.
package edge
