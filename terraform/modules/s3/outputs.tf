output "bucket_name" {
  description = "Bucket name (S3_BUCKET)."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "Bucket ARN (for IAM policies)."
  value       = aws_s3_bucket.this.arn
}

output "region" {
  description = "Bucket region (S3_REGION)."
  value       = aws_s3_bucket.this.region
}

output "events_queue_url" {
  description = "SQS queue receiving ObjectCreated notifications (the bridge reads it)."
  value       = aws_sqs_queue.events.id
}

output "events_queue_arn" {
  description = "ARN of that queue."
  value       = aws_sqs_queue.events.arn
}

output "events_dlq_arn" {
  description = "Dead-letter queue of notifications the bridge failed 10 times."
  value       = aws_sqs_queue.events_dlq.arn
}

output "kms_key_arn" {
  description = "KMS key used for SSE, or null for SSE-S3."
  value       = var.kms_key_arn
}
