# S3 -> Kafka bridge: an MSK Connect connector running an SQS source connector plugin that moves each
# S3 notification (the SQS message body, unchanged) to the topic s3.events as a plain record with
# no CloudEvent headers. The chart's KafkaSource `s3-events` then delivers it to `upload` as a
# dev.knative.kafka.event, the same shape versitygw produces under `make dev`.
#
# It lives here, not in modules/s3 or modules/kafka, because it exists to feed the chart's routing
# and must start after this module has created the s3.events topic (auto-create is off).
#
# The connector plugin is not vendored: upload a build of an Apache-2.0 SQS source connector (the
# reference is github.com/Nordstrom/kafka-connect-sqs) to S3 and pass its location. Its config keys
# below are that connector's; override them with s3_bridge.connector_config for another plugin.

locals {
  bridge = var.s3_bridge.enabled
}

data "aws_iam_policy_document" "bridge_trust" {
  count = local.bridge ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["kafkaconnect.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "bridge" {
  count = local.bridge ? 1 : 0
  statement {
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
    resources = [var.s3.events_queue_arn]
  }
  # The brokers take no unauthenticated clients (modules/kafka): the connector signs in with IAM.
  statement {
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"]
    resources = [var.kafka.cluster_arn]
  }
  statement {
    actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:ReadData", "kafka-cluster:CreateTopic"]
    resources = ["${replace(var.kafka.cluster_arn, ":cluster/", ":topic/")}/*"]
  }
  statement {
    actions   = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
    resources = ["${replace(var.kafka.cluster_arn, ":cluster/", ":group/")}/*"]
  }
}

resource "aws_iam_role" "bridge" {
  count              = local.bridge ? 1 : 0
  name               = "${var.name}-s3-bridge"
  assume_role_policy = data.aws_iam_policy_document.bridge_trust[0].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "bridge" {
  count  = local.bridge ? 1 : 0
  name   = "sqs-and-msk"
  role   = aws_iam_role.bridge[0].id
  policy = data.aws_iam_policy_document.bridge[0].json
}

resource "aws_cloudwatch_log_group" "bridge" {
  count             = local.bridge ? 1 : 0
  name              = "/aws/mskconnect/${var.name}-s3-bridge"
  retention_in_days = 14
  tags              = var.tags
}

resource "aws_mskconnect_custom_plugin" "sqs" {
  count        = local.bridge ? 1 : 0
  name         = "${var.name}-sqs-source"
  content_type = var.s3_bridge.plugin_content_type
  location {
    s3 {
      bucket_arn = var.s3_bridge.plugin_bucket_arn
      file_key   = var.s3_bridge.plugin_file_key
    }
  }
}

resource "aws_mskconnect_connector" "s3_events" {
  count                = local.bridge ? 1 : 0
  name                 = "${var.name}-s3-events"
  kafkaconnect_version = "2.7.1"

  capacity {
    provisioned_capacity {
      mcu_count    = 1
      worker_count = 1
    }
  }

  connector_configuration = merge({
    "connector.class"       = "com.nordstrom.kafka.connect.sqs.SqsSourceConnector"
    "tasks.max"             = "1"
    "topics"                = var.s3_events_topic
    "sqs.queue.url"         = var.s3.events_queue_url
    "sqs.region"            = var.s3.region
    "sqs.max.messages"      = "10"
    "sqs.wait.time.seconds" = "20"
    # The body is written as-is: upload parses the S3 notification JSON itself.
    "key.converter"   = "org.apache.kafka.connect.storage.StringConverter"
    "value.converter" = "org.apache.kafka.connect.storage.StringConverter"
  }, var.s3_bridge.connector_config)

  kafka_cluster {
    apache_kafka_cluster {
      # MSK Connect authenticates with IAM or not at all; the brokers refuse unauthenticated clients.
      bootstrap_servers = var.kafka.iam_bootstrap_servers
      vpc {
        security_groups = [var.kafka.security_group_id]
        subnets         = var.s3_bridge.subnet_ids
      }
    }
  }

  kafka_cluster_client_authentication {
    authentication_type = "IAM"
  }

  kafka_cluster_encryption_in_transit {
    encryption_type = "TLS"
  }

  plugin {
    custom_plugin {
      arn      = aws_mskconnect_custom_plugin.sqs[0].arn
      revision = aws_mskconnect_custom_plugin.sqs[0].latest_revision
    }
  }

  log_delivery {
    worker_log_delivery {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.bridge[0].name
      }
    }
  }

  service_execution_role_arn = aws_iam_role.bridge[0].arn

  depends_on = [kubernetes_job_v1.topics, aws_iam_role_policy.bridge]
}
