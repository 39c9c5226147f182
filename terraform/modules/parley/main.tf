# Parley itself: its database role, its Kafka topics, the S3 identity of its pods, the Secret
# `parley-secrets`, and the chart charts/parley with values wired from the other modules.

locals {
  kafka_tls = var.kafka.tls
  env = merge({
    S3_BUCKET       = var.s3.bucket_name
    S3_REGION       = var.s3.region
    OIDC_ISSUER     = var.oidc_issuer
    KETO_READ_URL   = var.keto.read_url
    KETO_WRITE_URL  = var.keto.write_url
    REDIS_ADDR      = var.redis_addr
    ALLOWED_ORIGINS = join(",", var.allowed_origins)
    # Standalone images do not migrate unless told; migrations take a PostgreSQL advisory lock
    # (infra/postgres), so many functions starting at once is safe.
    MIGRATE = "true"
  }, var.extra_env)
}

# --- database role -------------------------------------------------------------------------------

# The application connects as its own role, owner of the `parley` database (and so, on
# PostgreSQL 15, of its public schema), never as the RDS master user.
module "database" {
  source                = "../pg-database"
  name                  = "parley"
  namespace             = var.namespace
  host                  = var.database.host
  port                  = var.database.port
  master_username       = var.database.master_username
  master_password       = var.database.master_password
  role                  = var.database.app_role
  database              = var.database.name
  postgres_client_image = var.postgres_client_image
}

# --- Kafka topics --------------------------------------------------------------------------------

# Topic auto-creation is off on the brokers. Knative creates the broker topic and the KafkaSinks'
# .dlq topics; the topics Parley's own code writes are created here, with the chart's partition
# count (ordering is per key, so the count is fixed at creation: changing it re-maps conversations).
resource "kubernetes_job_v1" "topics" {
  metadata {
    name      = "parley-kafka-topics"
    namespace = var.namespace
  }
  spec {
    backoff_limit              = 6
    ttl_seconds_after_finished = 3600
    template {
      metadata {
        annotations = { "parley.im/topics" = join(",", var.topics) }
      }
      spec {
        restart_policy = "Never"
        container {
          name    = "kafka-topics"
          image   = var.kafka_client_image
          command = ["/bin/sh", "-ec"]
          args = [<<-SH
            : > /tmp/client.properties
            if [ "$KAFKA_TLS" = "true" ]; then echo "security.protocol=SSL" > /tmp/client.properties; fi
            for t in $(echo "$TOPICS" | tr ',' ' '); do
              /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config /tmp/client.properties \
                --create --if-not-exists --topic "$t" --partitions "$PARTITIONS" --replication-factor "$RF"
            done
            /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config /tmp/client.properties --describe
          SH
          ]
          env {
            name  = "BOOTSTRAP"
            value = var.kafka.bootstrap_servers
          }
          env {
            name  = "KAFKA_TLS"
            value = tostring(local.kafka_tls)
          }
          env {
            name  = "TOPICS"
            value = join(",", var.topics)
          }
          env {
            name  = "PARTITIONS"
            value = tostring(var.kafka.partitions)
          }
          env {
            name  = "RF"
            value = tostring(var.kafka.replication_factor)
          }
        }
      }
    }
  }
  wait_for_completion = true
  timeouts {
    create = "10m"
    update = "10m"
  }
}

# --- parley-secrets ------------------------------------------------------------------------------

# Signing keys of the identity function are encrypted at rest with this (functions/identity).
resource "random_password" "identity_key_encryption_key" {
  length  = 48
  special = false
}

resource "kubernetes_secret_v1" "parley" {
  metadata {
    name      = "parley-secrets" # values.yaml secrets.name
    namespace = var.namespace
  }
  data = merge(
    {
      DATABASE_URL = format("postgres://%s:%s@%s:%d/%s?sslmode=require",
      var.database.app_role, module.database.password, var.database.host, var.database.port, var.database.name)
      IDENTITY_KEY_ENCRYPTION_KEY = random_password.identity_key_encryption_key.result
    },
    var.turn_secret == null ? {} : { TURN_SECRET = var.turn_secret },
    var.s3_auth_mode == "static_keys" ? {
      S3_ACCESS_KEY = aws_iam_access_key.files[0].id
      S3_SECRET_KEY = aws_iam_access_key.files[0].secret
    } : {},
  )
}

# --- the chart -----------------------------------------------------------------------------------

resource "helm_release" "parley" {
  name      = "parley"
  chart     = var.chart_path
  namespace = var.namespace
  # Knative Services report Ready through their own conditions, which Helm does not read; the
  # release is "deployed" once the objects are accepted. Check with `kubectl get ksvc -n parley`.
  wait    = false
  timeout = 600

  values = [yamlencode({
    namespace = var.namespace
    image = {
      registry = var.image.registry
      tag      = var.image.tag
    }
    kafka = {
      bootstrapServers  = var.kafka.bootstrap_servers
      partitions        = var.kafka.partitions
      replicationFactor = var.kafka.replication_factor
    }
    env  = local.env
    keto = { readURL = var.keto.read_url, writeURL = var.keto.write_url }
  })]

  depends_on = [
    module.database,
    kubernetes_job_v1.topics,
    kubernetes_secret_v1.parley,
    kubernetes_default_service_account_v1.parley,
  ]
}
