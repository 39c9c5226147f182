// Package eventing stands in for Knative Eventing's Kafka data plane on one machine: the broker
// ingress (CloudEvents over HTTP -> the broker topic), one dispatcher per Trigger or KafkaSource
// (consumer group, type filter, binary-mode HTTP POST, retry with backoff, dead-letter topic, reply
// events back into the broker, ordered or unordered delivery) and the PingSource.
//
// The rules it follows are Knative's (shared/reference/platform.md 1.1-1.4), so a function that
// behaves here behaves the same behind a real Kafka Broker:
//   - 2xx is done; a 2xx carrying a CloudEvent is a reply, produced into the broker topic
//     (KafkaSource: discarded);
//   - 5xx, 404, 408, 409, 429, a connection error or a per-attempt timeout is retried with backoff
//     up to delivery.retry times, then dead-lettered;
//   - any other status (400, other 4xx, 3xx) is dead-lettered at once;
//   - a dead letter is the original event plus knativeerrordest, knativeerrorcode and
//     knativeerrordata (base64 of the response body, truncated), written to the dead-letter topic;
//   - ordered: one record at a time per partition, a retrying record holds its partition;
//     unordered: records of a partition in flight concurrently, offsets committed only up to the
//     first one not yet finished.
package eventing
