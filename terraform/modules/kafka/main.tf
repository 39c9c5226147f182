# Amazon MSK: the broker topic (commands, facts, replies), im.delivery, s3.events and the dead-letter
# topics. Topic auto-creation is off: Knative creates the broker and KafkaSink topics itself, and
# modules/parley creates Parley's own topics with explicit partitions and replication.

resource "aws_security_group" "this" {
  name        = "${var.name}-kafka"
  description = "Kafka from the EKS nodes (and the S3 bridge connector)"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

locals {
  # 9092 plaintext (only with TLS_PLAINTEXT), 9094 TLS, 9096 SASL/SCRAM over TLS, 9098 IAM over TLS.
  client_ports = concat(var.client_broker_encryption == "TLS" ? [9094] : [9092, 9094], [9096],
  var.iam_auth ? [9098] : [])
  ingress = { for pair in setproduct(var.allowed_security_group_ids, local.client_ports) :
  "${pair[0]}-${pair[1]}" => { sg = pair[0], port = pair[1] } }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each                     = local.ingress
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value.sg
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = "Kafka clients"
}

# Members of this group (e.g. the MSK Connect bridge) may reach the brokers too.
resource "aws_vpc_security_group_ingress_rule" "self" {
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9098
  description                  = "Kafka from members of this group"
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.this.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  description       = "Connector workers reach SQS/S3; brokers need no egress but it is harmless"
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-config"
  kafka_versions = [var.kafka_version]
  # Acks=all producers (DESIGN section 4) + min.insync.replicas = RF-1: one broker can be down
  # without refusing writes, and an acknowledged write is on at least two brokers (one in dev).
  server_properties = <<-PROPS
    auto.create.topics.enable=false
    delete.topic.enable=true
    default.replication.factor=${local.replication_factor}
    min.insync.replicas=${local.min_insync_replicas}
    num.partitions=${var.default_partitions}
    unclean.leader.election.enable=false
  PROPS
}

locals {
  replication_factor  = min(3, var.broker_count)
  min_insync_replicas = max(1, local.replication_factor - 1)
}

resource "aws_cloudwatch_log_group" "brokers" {
  name              = "/aws/msk/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]
    storage_info {
      ebs_storage_info {
        volume_size = var.ebs_volume_size_gb
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    # At rest: the AWS-managed MSK key. In transit between brokers: always TLS.
    encryption_in_transit {
      client_broker = var.client_broker_encryption
      in_cluster    = true
    }
  }

  # SASL/SCRAM always (Knative's Kafka data plane and the topics Job use it; so does Parley unless
  # iam_auth), IAM optionally for Parley's own clients (AWS_MSK_IAM, IRSA). No unauthenticated
  # access: the security group is a second fence, not the only one.
  client_authentication {
    unauthenticated = false
    sasl {
      scram = true
      iam   = var.iam_auth
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers.name
      }
    }
  }

  enhanced_monitoring = "PER_BROKER"
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = !var.parley_iam || var.iam_auth
      error_message = "parley_iam needs iam_auth = true (the IAM listener)."
    }
  }
}

# --- SASL/SCRAM credentials ------------------------------------------------------------------------

# MSK reads SCRAM users from Secrets Manager secrets named AmazonMSK_*, encrypted with a customer
# managed key (the AWS-managed secretsmanager key is refused).
resource "aws_kms_key" "scram" {
  description         = "${var.name} MSK SCRAM secrets"
  enable_key_rotation = true
  tags                = var.tags
}

resource "random_password" "scram" {
  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "scram" {
  name       = "AmazonMSK_${var.name}-${var.scram_username}"
  kms_key_id = aws_kms_key.scram.key_id
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "scram" {
  secret_id     = aws_secretsmanager_secret.scram.id
  secret_string = jsonencode({ username = var.scram_username, password = random_password.scram.result })
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram.arn]
  depends_on      = [aws_secretsmanager_secret_version.scram]
}
