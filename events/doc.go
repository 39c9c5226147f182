// Package events is Parley's public contract as code: the CloudEvent types, their payloads,
// the API objects clients see, the error catalog, the WebSocket frame and close-code catalog,
// and the Kafka binary-mode binding.
//
// Naming rules:
//   - a CloudEvent type is "im.<noun>.<verb>.v1";
//   - source names the producing component ("/parley/functions/send", "/parley/socket-edge/<instance>");
//   - subject and the partitionkey extension are the conversation id, or the user id for user-scoped facts,
//     so one conversation's events stay on one Kafka partition, in order;
//   - commands from the socket-edge carry the correlationid extension ("<edge>/<session>/<frame id>"),
//     copied by functions onto the facts and rejections they cause.
//
// This package imports only the standard library and the CloudEvents SDK: every other module may import it,
// and it imports nothing of ours.
package events
