# The file bucket: clients upload and download with presigned URLs (DESIGN section 3), and every
# created object is announced so the `upload` function can check it and make a thumbnail.
#
# S3 cannot notify Kafka directly. The path chosen here, end to end:
#   S3 ObjectCreated -> SQS queue (this module) -> MSK Connect SQS source connector (modules/parley,
#   s3_bridge.tf) -> Kafka topic s3.events, value = the S3 notification JSON, no CloudEvent headers
#   -> the chart's KafkaSource `s3-events` -> the `upload` function, which accepts exactly that
#   (type dev.knative.kafka.event with a {"Records": [...]} body, like versitygw sends locally).

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: access is by IAM (the functions' role) and presigned URLs only.
resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  # Presigned multipart uploads that clients abandon leave invisible, billed parts behind.
  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# Browsers PUT and GET directly against S3 with presigned URLs, so the app's origins need CORS.
# Content-Type is signed into upload URLs (infra/s3 PresignPut), hence allowed as a header.
resource "aws_s3_bucket_cors_configuration" "this" {
  count  = length(var.cors_allowed_origins) > 0 ? 1 : 0
  bucket = aws_s3_bucket.this.id
  cors_rule {
    allowed_methods = ["PUT", "GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["Content-Type", "Content-Length", "Content-MD5", "x-amz-*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- notifications: S3 -> SQS --------------------------------------------------------------------

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.bucket_name}-events-dlq"
  message_retention_seconds = 1209600 # 14 days to look at what the bridge could not deliver
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

resource "aws_sqs_queue" "events" {
  name = "${var.bucket_name}-events"
  # SQS-managed encryption: S3 can publish to it without a KMS key policy.
  sqs_managed_sse_enabled    = true
  message_retention_seconds  = 345600 # 4 days: survives a weekend-long bridge outage
  visibility_timeout_seconds = 120
  receive_wait_time_seconds  = 20
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq.arn
    maxReceiveCount     = 10
  })
  tags = var.tags
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "S3Publishes"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "events" {
  queue_url = aws_sqs_queue.events.id
  policy    = data.aws_iam_policy_document.queue.json
}

resource "aws_s3_bucket_notification" "this" {
  bucket = aws_s3_bucket.this.id
  queue {
    queue_arn     = aws_sqs_queue.events.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.notification_prefix == "" ? null : var.notification_prefix
  }
  depends_on = [aws_sqs_queue_policy.events]
}
