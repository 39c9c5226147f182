# Parley itself: its database role, its Kafka topics, the S3 identity of its pods, the Secret
# `parley-secrets`, and the chart charts/parley with values wired from the other modules.

locals {
  kafka_tls = var.kafka.tls
  kafka_iam = var.kafka.sasl_mechanism == "AWS_MSK_IAM"
  pg_ca     = var.postgres_ca_pem != null
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
    }, var.push.apns_key_p8 == null ? {} : {
    # APNs (functions/push): who the key belongs to and where to send; the key itself is secret.
    APNS_KEY_ID   = var.push.apns_key_id
    APNS_TEAM_ID  = var.push.apns_team_id
    APNS_TOPIC    = var.push.apns_topic
    APNS_ENDPOINT = var.push.apns_sandbox ? "https://api.sandbox.push.apple.com" : "https://api.push.apple.com"
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
          # SASL/SCRAM over TLS, as Knative's data plane (modules/kafka).
          args = [<<-SH
            cat > /tmp/client.properties <<EOF
            security.protocol=SASL_SSL
            sasl.mechanism=SCRAM-SHA-512
            sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_USER" password="$KAFKA_PASSWORD";
            EOF
            for t in $(echo "$TOPICS" | tr ',' ' '); do
              /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config /tmp/client.properties \
                --create --if-not-exists --topic "$t" --partitions "$PARTITIONS" --replication-factor "$RF"
            done
            /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config /tmp/client.properties --describe
          SH
          ]
          env {
            name  = "BOOTSTRAP"
            value = var.kafka.scram_bootstrap_servers
          }
          env {
            name = "KAFKA_USER"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.kafka_knative.metadata[0].name
                key  = "user"
              }
            }
          }
          env {
            name = "KAFKA_PASSWORD"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.kafka_knative.metadata[0].name
                key  = "password"
              }
            }
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

# The push function's VAPID private key is encrypted at rest with this (functions/push).
resource "random_password" "push_key_encryption_key" {
  length  = 48
  special = false
}

resource "kubernetes_secret_v1" "parley" {
  metadata {
    name      = "parley-secrets" # values.yaml secrets.name
    namespace = var.namespace
  }
  lifecycle {
    precondition {
      condition     = !local.kafka_iam || var.s3_auth_mode == "irsa"
      error_message = "kafka.sasl_mechanism AWS_MSK_IAM needs s3_auth_mode = \"irsa\": the pods' IRSA role carries the MSK policy."
    }
  }
  data = merge(
    {
      # verify-full: encrypted, and the certificate must name the host and chain to the RDS CA.
      DATABASE_URL = format("postgres://%s:%s@%s:%d/%s?%s",
        var.database.app_role, module.database.password, var.database.host, var.database.port, var.database.name,
      local.pg_ca ? "sslmode=verify-full&sslrootcert=/etc/parley/tls/postgres/ca.pem" : "sslmode=require")
      IDENTITY_KEY_ENCRYPTION_KEY = random_password.identity_key_encryption_key.result
      PUSH_KEY_ENCRYPTION_KEY     = random_password.push_key_encryption_key.result
    },
    var.push.fcm_service_account_json == null ? {} : { FCM_SERVICE_ACCOUNT_JSON = var.push.fcm_service_account_json },
    var.push.apns_key_p8 == null ? {} : { APNS_KEY = var.push.apns_key_p8 },
    local.kafka_iam ? {} : {
      KAFKA_SASL_USERNAME = var.kafka.scram_username
      KAFKA_SASL_PASSWORD = var.kafka.scram_password
    },
    var.redis_auth.username == null ? {} : {
      REDIS_USERNAME = var.redis_auth.username
      REDIS_PASSWORD = var.redis_auth.password
    },
    var.turn_secret == null ? {} : { TURN_SECRET = var.turn_secret },
    var.s3_auth_mode == "static_keys" ? {
      S3_ACCESS_KEY = aws_iam_access_key.files[0].id
      S3_SECRET_KEY = aws_iam_access_key.files[0].secret
    } : {},
  )
}

# Knative's Kafka data plane (Broker, KafkaSink, KafkaSource) authenticates with this Secret, in
# Knative's format (values.yaml managedServices.kafka.knativeAuthSecret). Always SCRAM: Knative has
# no IAM support.
resource "kubernetes_secret_v1" "kafka_knative" {
  metadata {
    name      = "kafka-knative-auth"
    namespace = var.namespace
  }
  data = {
    protocol         = "SASL_SSL"
    "sasl.mechanism" = "SCRAM-SHA-512"
    user             = var.kafka.scram_username
    password         = var.kafka.scram_password
  }
}

# The RDS CA bundle, mounted at /etc/parley/tls/postgres/ca.pem (values.yaml managedServices.postgres).
resource "kubernetes_config_map_v1" "rds_ca" {
  count = local.pg_ca ? 1 : 0
  metadata {
    name      = "rds-ca"
    namespace = var.namespace
  }
  data = { "ca.pem" = var.postgres_ca_pem }
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
    # Knative's data plane uses the SCRAM listener; Parley's clients get KAFKA_BROKERS below.
    kafka = {
      bootstrapServers = var.kafka.scram_bootstrap_servers
      # Parley's own clients: the IAM listener with AWS_MSK_IAM, else the same SCRAM one.
      clientBootstrapServers = var.kafka.bootstrap_servers
      partitions             = var.kafka.partitions
      replicationFactor      = var.kafka.replication_factor
    }
    managedServices = {
      kafka = {
        tls               = var.kafka.tls
        saslMechanism     = var.kafka.sasl_mechanism
        awsRegion         = local.kafka_iam ? var.s3.region : ""
        knativeAuthSecret = kubernetes_secret_v1.kafka_knative.metadata[0].name
      }
      redis    = { tls = var.redis_auth.tls }
      postgres = { caConfigMap = local.pg_ca ? "rds-ca" : "" }
    }
    env  = local.env
    keto = { readURL = var.keto.read_url, writeURL = var.keto.write_url }
  })]

  depends_on = [
    module.database,
    kubernetes_job_v1.topics,
    kubernetes_secret_v1.parley,
    kubernetes_secret_v1.kafka_knative,
    kubernetes_config_map_v1.rds_ca,
    kubernetes_default_service_account_v1.parley,
  ]
}
